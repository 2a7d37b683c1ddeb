"""Load the demo: generate the raw files, configure a local-folder source for each kind, set the
cost rule finance keeps for the Savings Plan fee, poll the files through the real sources
service (as the scheduler would), run attribution, close the oldest complete month, set up
budgets, a channel and alert rules and evaluate them once, and create the demo users.

Idempotent for one window: re-running with the same end skips files already ingested. A demo
whose window has moved (by default it ends at the current hour) replaces the earlier one, so
the stored data is always exactly the window the command printed.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum

from costapp.attribution.engine import run_attribution
from costapp.attribution.inventory import sync_gpu_resources
from costapp.attribution.models import Allocation, CostRule, RuleAction, RuleSource
from costapp.core.models import Membership, OrgRole, Role, Team
from costapp.core.roles import sync_finance_group
from costapp.ingest.models import IngestionRun, RunStatus
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .billing import SHARED_COST_CATEGORY
from .budgets import DemoAlerts, set_up_alerts
from .dataset import generate_dataset, window
from .fleet import TEAMS
from .periods import close_oldest_month

# (source name, format, sub-folder of the demo folder), polled in this order: bill, then the
# telemetry and request logs that attribution splits it by.
DEMO_SOURCES = (
    ("demo-billing", "focus", "billing"),
    ("demo-telemetry", "dcgm", "telemetry"),
    ("demo-requests", "jsonl", "requests"),
)


# The rules a finance team sets for the demo's bill. The Savings Plan's recurring fee is billed
# apart from the usage it covers (FOCUS BilledCost on the fee, EffectiveCost on the usage), so
# on the billed basis it is the H100 capacity every GPU team draws on: it is split in
# proportion to each team's GPU cost in the hour, as commitment fees usually are.
DEMO_RULES = (
    dict(
        name="Savings Plan fee: split by GPU cost",
        priority=10,
        source=RuleSource.TAG,
        tag_key=SHARED_COST_CATEGORY[0],
        tag_value=SHARED_COST_CATEGORY[1],
        action=RuleAction.GPU_COST,
        team="",
    ),
    # Shared resources a team tagged as its own (the evaluation sets bucket) go to that team.
    dict(
        name="Team tag: to that team",
        priority=20,
        source=RuleSource.TAG,
        tag_key="team",
        tag_value="",
        action=RuleAction.ASSIGN,
        team="",
    ),
)
# What the folder holds: the window of the files in it, so a moved window is noticed.
WINDOW_FILE = "window.json"


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class DemoSummary:
    runs: Counter = field(default_factory=Counter)  # status -> count
    rows: Counter = field(default_factory=Counter)  # format -> rows stored
    failures: list[str] = field(default_factory=list)
    gpu_resources: int | None = None
    allocations: int | None = None
    amortized_total: Decimal = Decimal(0)
    billed_total: Decimal = Decimal(0)
    logins: list[Login] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alerts: DemoAlerts | None = None
    closed_month: date | None = None
    start: datetime | None = None
    end: datetime | None = None


def wipe_demo(outdir: Path) -> int:
    """Forget every run that ingested a file under outdir (its rows go with it, by cascade)."""
    deleted, _ = IngestionRun.objects.filter(location__startswith=str(outdir.resolve())).delete()
    Source.objects.filter(name__in=[name for name, _, _ in DEMO_SOURCES]).update(state={})
    return deleted


def demo_sources(outdir: Path) -> list[Source]:
    """The demo's local-folder sources, pointed at outdir (created or updated)."""
    sources = []
    for name, fmt, sub in DEMO_SOURCES:
        location = str(outdir / sub)
        source = Source.objects.filter(name=name).first()
        if source is None or source.location != location or source.format != fmt:
            # A new folder starts with no watermark; runs stored from the old one stay theirs.
            source, _ = Source.objects.update_or_create(
                name=name,
                defaults={
                    "format": fmt,
                    "location_kind": Source.Location.LOCAL,
                    "location": location,
                    "state": {},
                    "schedule_minutes": 60,
                },
            )
        sources.append(source)
    return sources


def demo_rules() -> list[CostRule]:
    """The demo's cost rules, created or put back as shipped (matched by name, among the
    versions in force: an edited rule keeps its earlier versions for the hours before it)."""
    current = CostRule.objects.filter(effective_to__isnull=True)
    return [current.update_or_create(name=rule["name"], defaults=rule)[0] for rule in DEMO_RULES]


def _window_moved(outdir: Path, start: datetime, end: datetime, seed: int) -> bool:
    marker = outdir / WINDOW_FILE
    wanted = {"seed": seed, "start": start.isoformat(), "end": end.isoformat()}
    try:
        held = json.loads(marker.read_text())
    except (OSError, ValueError):
        held = None
    return held != wanted


def _write_window(outdir: Path, start: datetime, end: datetime, seed: int) -> None:
    wanted = {"seed": seed, "start": start.isoformat(), "end": end.isoformat()}
    (outdir / WINDOW_FILE).write_text(json.dumps(wanted) + "\n")


def poll(source: Source, summary: DemoSummary) -> None:
    for run in run_source(source):
        summary.runs[run.status] += 1
        summary.rows[source.format] += run.rows_stored
        if run.status == RunStatus.FAILED:
            summary.failures.append(f"{run.location}: {run.error}")


def attribute(summary: DemoSummary) -> None:
    """Find the GPU resources in the bill and split every hour of the window."""
    summary.gpu_resources = sync_gpu_resources()
    run_attribution()
    # Every table was just written in one go, before autovacuum (when it runs at all) has
    # analysed them: without statistics the planner takes the rollups for empty and nests
    # loops over them, and the budget evaluation below once ran for 40 minutes.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    summary.allocations = Allocation.objects.count()
    totals = Allocation.objects.aggregate(a=Sum("amortized_cost"), b=Sum("billed_cost"))
    summary.amortized_total = totals["a"] or Decimal(0)
    summary.billed_total = totals["b"] or Decimal(0)


def create_users() -> list[Login]:
    """One finance user and one lead per demo team; passwords are demo-only and printed."""
    users = get_user_model()
    logins = [Login("finance", "finance-demo", "finance (all teams; configuration at /admin/)")]
    finance, _ = users.objects.get_or_create(username="finance")
    finance.set_password("finance-demo")
    # Staff, for the admin; what it may change there is the Finance group's permissions.
    finance.is_staff = True
    finance.save()
    finance.groups.add(sync_finance_group())
    OrgRole.objects.update_or_create(user=finance, defaults={"role": Role.FINANCE})
    for slug, name in TEAMS.items():
        team, _ = Team.objects.update_or_create(slug=slug, defaults={"name": name})
        lead, _ = users.objects.get_or_create(username=f"lead-{slug}")
        lead.set_password(f"{slug}-demo")
        lead.save()
        Membership.objects.update_or_create(user=lead, team=team, defaults={"role": Role.LEAD})
        logins.append(Login(f"lead-{slug}", f"{slug}-demo", f"lead of {name}"))
    return logins


def load_demo(outdir: Path, *, seed: int, end: datetime, days: int, fresh: bool) -> DemoSummary:
    """Generate and load the demo of `days` days ending at `end` (on the hour, UTC)."""
    outdir = Path(outdir).resolve()
    start, end = window(end, days)
    summary = DemoSummary(start=start, end=end)
    if fresh or _window_moved(outdir, start, end, seed):
        deleted = wipe_demo(outdir)
        if deleted:
            reason = "--fresh" if fresh else "the demo window moved"
            summary.notes.append(f"{reason}: replaced {deleted} earlier demo rows")
    (outdir / WINDOW_FILE).unlink(missing_ok=True)
    # The files are regenerated every time; identical bytes make re-ingestion a no-op. Only our
    # own sub-folders are cleared, so a mistyped --outdir cannot take anything else with it.
    for sub in ("billing", "telemetry", "requests"):
        shutil.rmtree(outdir / sub, ignore_errors=True)
    # Runs of this folder without a source were stored by the loader before demo sources
    # existed; the sources would store the same files again under their own stream.
    IngestionRun.objects.filter(location__startswith=str(outdir), source__isnull=True).delete()
    generate_dataset(outdir, seed=seed, end=end, days=days)
    demo_rules()
    for source in demo_sources(outdir):
        poll(source, summary)
    if not summary.failures:
        attribute(summary)
        _write_window(outdir, start, end, seed)
        close_period(summary)
        summary.alerts = set_up_alerts(end)
    summary.logins = create_users()
    return summary


def close_period(summary: DemoSummary) -> None:
    month, closed = close_oldest_month(summary.start, summary.end)
    summary.closed_month = month
    if month is None:
        # The window that holds last month whole, so the closed-month pages have one to show.
        this = date(summary.end.year, summary.end.month, 1)
        last = date(this.year - (this.month == 1), (this.month - 2) % 12 + 1, 1)
        summary.notes.append(
            "no calendar month lies wholly inside the demo window, so none was closed"
            f" (/chargeback/ shows a closed month: --end {this} --days {(this - last).days}"
            " would cover one)"
        )
    elif closed:
        summary.notes.append(f"closed {month:%Y-%m}, the window's oldest complete month")
