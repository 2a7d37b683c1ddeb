"""A closed month's showback / chargeback statement, reconciled with the month's invoices.

Per currency: what each team carries (its usage, the shared costs rules gave it and, under
share-idle, its share of its pools' idle), then the company's own lines (idle nobody carries,
unmeasured, unallocated). Those add up to every allocation of the month's hours exactly. The
month's invoice total is the sum of its loaded bills (LoadedBill, by billing period). The two
differ only where a bill's lines are charged outside its month: a line is spread over the hours
of its charge period (costapp.attribution.steps), so this month's bill may have hours in the
next month and last month's bill hours in this one. Those amounts are computed with the
engine's own spread (the same quanta), and whatever is left is shown as unexplained (a month
recomputed before all its lines arrived, a bill restated after the close).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from costapp.money import ZERO

from .idle import cost_column, fetch, shared_idle
from .models import AttributionPolicy, ClosedPeriod, IdlePolicy, LineKind
from .periods import month_start, next_month, restated_bills

# The bill's column for each cost basis: FOCUS EffectiveCost is the amortized basis.
INVOICE_COLUMNS = {"amortized": "effective_cost", "billed": "billed_cost"}


@dataclass(frozen=True)
class TeamCharge:
    team: str
    usage: Decimal
    shared: Decimal
    idle: Decimal  # its share of its pools' idle (share-idle only)

    @property
    def total(self) -> Decimal:
        return self.usage + self.shared + self.idle


@dataclass
class Statement:
    """One currency's statement and reconciliation."""

    currency: str
    teams: list[TeamCharge] = field(default_factory=list)
    idle: Decimal = ZERO  # idle nobody carries in this view
    unmeasured: Decimal = ZERO
    unallocated: Decimal = ZERO
    allocated: Decimal = ZERO  # every allocation of the month's hours, summed on its own
    invoice: Decimal = ZERO  # the month's loaded bills
    bills: int = 0
    charged_after: Decimal = ZERO  # this month's bills, charged outside the month
    charged_before: Decimal = ZERO  # other months' bills, charged in this month

    @property
    def teams_total(self) -> Decimal:
        return sum((team.total for team in self.teams), ZERO)

    @property
    def lines_total(self) -> Decimal:
        """The statement's lines: teams plus the company's; equals `allocated`."""
        return self.teams_total + self.idle + self.unmeasured + self.unallocated

    @property
    def difference(self) -> Decimal:
        """Invoice less what was allocated to the month's hours."""
        return self.invoice - self.allocated

    @property
    def explained(self) -> Decimal:
        return self.charged_after - self.charged_before

    @property
    def unexplained(self) -> Decimal:
        return self.difference - self.explained


@dataclass(frozen=True)
class MethodPart:
    """How much of the month each rule placed: the method, stated with its figures."""

    kind: str
    rule: str
    cost: Decimal
    currency: str


@dataclass
class Chargeback:
    month: date
    basis: str
    share_idle: bool
    output_weight: Decimal
    closed: ClosedPeriod
    statements: list[Statement] = field(default_factory=list)
    method: list[MethodPart] = field(default_factory=list)
    restated: list = field(default_factory=list)  # bills restated since the close

    @property
    def invoice_column(self) -> str:
        return "EffectiveCost" if self.basis == "amortized" else "BilledCost"


# Per line: its whole amount, and the part the engine spreads into [low, high) — hour i of n
# gets floor(units / n) quanta and the first (units mod n) hours one more (steps.LINE_HOURS).
_SPREAD = """
WITH lines AS (
    SELECT billing_currency AS currency, {col} AS amount,
           billing_period_start >= %(low)s AND billing_period_start < %(high)s AS this_bill,
           abs({col}) * 10000000000 AS units,
           date_trunc('hour', charge_period_start) AS h0,
           greatest(1, ceil(extract(epoch FROM charge_period_end
                                    - date_trunc('hour', charge_period_start)) / 3600))::int AS n
    FROM ingest_costline
    WHERE (billing_period_start >= %(low)s AND billing_period_start < %(high)s)
       OR (charge_period_start < %(high)s AND charge_period_end > %(low)s)
), bounds AS (
    SELECT *, div(units, n) AS q, mod(units, n) AS r,
           greatest(0, ceil(extract(epoch FROM %(low)s - h0) / 3600))::int AS i0,
           least(n, ceil(extract(epoch FROM %(high)s - h0) / 3600))::int - 1 AS i1
    FROM lines
), parts AS (
    SELECT currency, amount, this_bill,
           CASE WHEN i1 < i0 THEN 0 ELSE sign(amount) * (
               (i1 - i0 + 1) * q + greatest(0, least(i1, r - 1) - i0 + 1)
           ) * 0.0000000001 END AS in_month
    FROM bounds
)
SELECT currency, this_bill, sum(amount) AS amount, sum(in_month) AS in_month
FROM parts GROUP BY currency, this_bill
"""


def _statement_lines(low: datetime, high: datetime, col: str, share: bool) -> dict:
    statements: dict[str, Statement] = {}
    teams: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: ZERO))
    )
    rows = fetch(
        f"""SELECT currency, kind, team, sum({col}) AS cost FROM attribution_allocation
            WHERE hour >= %(low)s AND hour < %(high)s GROUP BY currency, kind, team""",
        {"low": low, "high": high},
    )
    for row in rows:
        into = statements.setdefault(row["currency"], Statement(row["currency"]))
        into.allocated += row["cost"]
        if row["kind"] in (LineKind.USAGE, LineKind.SHARED):
            teams[row["currency"]][row["team"]][row["kind"]] += row["cost"]
        elif row["kind"] == LineKind.IDLE:
            into.idle += row["cost"]
        elif row["kind"] == LineKind.UNMEASURED:
            into.unmeasured += row["cost"]
        else:
            into.unallocated += row["cost"]
    basis = "amortized" if col == "amortized_cost" else "billed"
    for currency, statement in statements.items():
        idle = shared_idle(low, high, basis, currency) if share else {}
        for team, (idle_cost, _) in idle.items():
            teams[currency][team]["idle"] += idle_cost
            statement.idle -= idle_cost
        statement.teams = sorted(
            (
                TeamCharge(team, parts["usage"], parts["shared"], parts["idle"])
                for team, parts in teams[currency].items()
            ),
            key=lambda charge: (-charge.total, charge.team),
        )
    return statements


def chargeback(month: date, basis: str = "amortized", share_idle: bool | None = None):
    """The statement of a closed month, or None when the month is not closed."""
    month = date(month.year, month.month, 1)
    closed = ClosedPeriod.objects.filter(month=month).first()
    if closed is None:
        return None
    low, high = month_start(month), month_start(next_month(month))
    policy = AttributionPolicy.at(high - timedelta(hours=1))
    if share_idle is None:
        share_idle = policy.idle_policy == IdlePolicy.SHARE
    col = cost_column(basis)
    statements = _statement_lines(low, high, col, share_idle)
    bills = fetch(
        f"""SELECT billing_currency AS currency, sum({INVOICE_COLUMNS[basis]}) AS total,
                   count(*) AS bills
            FROM ingest_loadedbill
            WHERE billing_period_start >= %(low)s AND billing_period_start < %(high)s
            GROUP BY billing_currency""",
        {"low": low, "high": high},
    )
    for bill in bills:
        into = statements.setdefault(bill["currency"], Statement(bill["currency"]))
        into.invoice, into.bills = bill["total"], bill["bills"]
    spread = fetch(_SPREAD.format(col=INVOICE_COLUMNS[basis]), {"low": low, "high": high})
    for part in spread:
        into = statements.setdefault(part["currency"], Statement(part["currency"]))
        if part["this_bill"]:
            into.charged_after += part["amount"] - part["in_month"]
        else:
            into.charged_before += part["in_month"]
    method = fetch(
        f"""SELECT kind, rule, currency, sum({col}) AS cost FROM attribution_allocation
            WHERE hour >= %(low)s AND hour < %(high)s
            GROUP BY kind, rule, currency ORDER BY currency, kind, rule""",
        {"low": low, "high": high},
    )
    return Chargeback(
        month=month,
        basis=basis,
        share_idle=share_idle,
        output_weight=policy.output_token_weight,
        closed=closed,
        statements=[statements[code] for code in sorted(statements)],
        method=[MethodPart(**row) for row in method],
        restated=[bill for bill in restated_bills() if bill.month == month],
    )
