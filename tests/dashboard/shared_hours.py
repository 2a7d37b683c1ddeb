"""Resource-hours a team lead shares with other teams, attributed by the real engine, and the
arithmetic an attacker tries on what the lead is shown.

Hour H0: GPU "i-pair" is used by teams alpha (the lead's) and bravo only; GPU "i-trio" by
alpha, bravo and charlie. Hour H1: only "i-pair", alpha and bravo. A storage line spread over
H0 and H1 is split by GPU cost among the teams that used GPUs (alpha, bravo, charlie in H0;
alpha and bravo in H1). Odd amounts and token counts keep accidental equalities away.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from itertools import permutations

from costapp.attribution.engine import run_attribution
from costapp.attribution.models import Allocation, CostRule, LineKind
from costapp.ingest.models import CostLine
from tests.attribution import builders as b

H0, H1 = b.hour(0), b.hour(1)
PATH = "/srv/ledger/inbox/2026/secret-bill-2026-11.csv"
STORAGE = "arn:aws:s3:::model-weights"


def build() -> None:
    b.gpu_resource("i-pair", gpus=8, pool="pool-pair")
    b.gpu_resource("i-trio", gpus=8, pool="pool-trio")
    b.cost_line("i-pair", cost="173.2918", billed="191.0713", hours=2)
    b.cost_line("i-trio", cost="251.8337", billed="263.4471")
    b.cost_line(
        STORAGE, cost="41.7731", billed="44.0213", hours=2, category="Usage",
        service="Amazon S3", tags={"cost": "shared"},
    )  # fmt: skip
    CostLine.objects.update(source_file=PATH)
    # A storage line is a "Usage" charge with no GPU behind it: the tag rule spreads it.
    CostRule.objects.create(name="storage", tag_key="cost", tag_value="shared", action="gpu_cost")
    b.samples("i-pair", H0, ["0.62"], gpus=8)
    b.samples("i-pair", H1, ["0.57"], gpus=8)
    b.samples("i-trio", H0, ["0.71"], gpus=8)
    b.usage("alpha", H0, "i-pair", requests=3701, input_tokens=1187, output_tokens=203)
    b.usage("bravo", H0, "i-pair", requests=8317, input_tokens=2713, output_tokens=449)
    b.usage("alpha", H1, "i-pair", requests=2903, input_tokens=1409, output_tokens=173)
    b.usage("bravo", H1, "i-pair", requests=6113, input_tokens=2267, output_tokens=521)
    b.usage("alpha", H0, "i-trio", requests=1907, input_tokens=997, output_tokens=151)
    b.usage("bravo", H0, "i-trio", requests=5309, input_tokens=1811, output_tokens=307)
    b.usage("charlie", H0, "i-trio", requests=7129, input_tokens=2633, output_tokens=523)
    run_attribution(H0, H1 + timedelta(hours=1))
    assert Allocation.objects.filter(kind=LineKind.SHARED, team="bravo").count() == 2


def secrets(team: str, hour) -> dict[str, Decimal]:
    """Every figure of `team` in `hour` a lead of another team must not be able to derive: per
    allocation and summed over the hour, each cost basis, tokens, requests, weight, GPU-hours."""
    found: dict[str, Decimal] = {}
    rows = list(Allocation.objects.filter(team=team, hour=hour))
    assert rows, f"{team} has no rows at {hour}"
    fields = ("amortized_cost", "billed_cost", "gpu_hours", "weight")
    for row in rows:
        where = f"{team} {row.kind} {row.resource_id}"
        for name in fields:
            value = getattr(row, name)
            if value:
                found[f"{where} {name}"] = Decimal(value)
        for name in ("requests", "input_tokens", "output_tokens"):
            if getattr(row, name):
                found[f"{where} {name}"] = Decimal(getattr(row, name))
        if row.input_tokens or row.output_tokens:
            found[f"{where} tokens"] = Decimal(row.input_tokens + row.output_tokens)
    for name in ("amortized_cost", "billed_cost"):
        found[f"{team} hour {name}"] = sum((Decimal(getattr(r, name)) for r in rows), Decimal(0))
    return found


# A figure, not a row id: "Cost line #448" names a database row whose number depends on how
# many rows earlier tests made, and would make chance "derivations" (448 + 1 = a secret 449).
_NUMBER = re.compile(r"(?<![\w.#])-?\d[\d,]*(?:\.\d+)?")


# The same in JSON: `"cost_line_id": 941` is a row id, not a figure (1390 - 941 once "gave" 449).
_JSON_ID = re.compile(r'"(?:\w+_)?id"\s*:\s*-?\d+')


def numbers(text: str) -> set[Decimal]:
    """Every number in a page or JSON body, commas dropped ($1,234.50 -> 1234.50), row ids
    left out."""
    found = set()
    for match in _NUMBER.findall(_JSON_ID.sub("", text)):
        try:
            found.add(Decimal(match.replace(",", "")))
        except InvalidOperation:
            continue
    return found


def _tolerance(*values: Decimal) -> Decimal:
    # Exact figures (10 decimals, whole counts) must match to the quantum the engine splits
    # at; figures rounded for display (cents, 4 or 6 places) to their own rounding.
    places = max(-v.as_tuple().exponent for v in values)
    if places == 0 or places >= 10:
        return Decimal("2E-10")
    return Decimal(1).scaleb(-places) * 2


def derivations(visible: set[Decimal]) -> list[tuple[str, Decimal, Decimal]]:
    """Each visible number, and the difference, sum and ratio of each pair of them, with the
    tolerance its operands' rounding allows: what an attacker computes from the page."""
    out = [(f"{x}", x, _tolerance(x)) for x in visible]
    for x, y in permutations(visible, 2):
        tol = _tolerance(x, y)
        out.append((f"{x} - {y}", x - y, tol))
        out.append((f"{x} + {y}", x + y, tol))
        if y and abs(y) >= 1:
            # A ratio's error grows with the operands' rounding relative to the divisor.
            out.append((f"{x} / {y}", x / y, tol * (1 + abs(x / y)) / abs(y)))
    return out


def leaks(text: str, secret: dict[str, Decimal]) -> list[str]:
    """Which secret figures some visible number or pair of numbers gives away."""
    found = []
    derived = derivations(numbers(text))
    for name, value in secret.items():
        found += [
            f"{name} = {value} from {how}" for how, d, tol in derived if abs(d - value) <= tol
        ]
    return found
