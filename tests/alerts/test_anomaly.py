"""Spend anomalies: the robust z on hand-computed series (MAD, its fallbacks), the floor, and
the driver named in constructed cases (volume, price, idle, model mix, a new resource)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costapp.alerts import rules
from costapp.alerts.anomaly import INFINITE, Day, decompose, driver, robust_z
from costapp.alerts.evaluate import evaluate_all
from costapp.alerts.models import Alert
from costapp.attribution.models import Allocation

POOL = "aws/us-east-1/H100"
NOW = datetime(2026, 11, 30, 6, tzinfo=UTC)  # judges Nov 27, 28 and 29


def nov(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def usage(
    when: datetime,
    cost: str,
    tokens: int,
    *,
    team: str = "search",
    model: str = "llama-70b",
    endpoint: str = "chat",
    resource: str = "i-gpu",
) -> None:
    Allocation.objects.create(
        hour=when,
        resource_id=resource,
        pool=POOL,
        kind="usage",
        team=team,
        model=model,
        endpoint=endpoint,
        amortized_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        currency="USD",
        input_tokens=tokens,
        gpu_hours=Decimal(1),
    )


def idle(when: datetime, cost: str, resource: str = "i-gpu") -> None:
    Allocation.objects.create(
        hour=when,
        resource_id=resource,
        pool=POOL,
        kind="idle",
        amortized_cost=Decimal(cost),
        billed_cost=Decimal(cost),
        currency="USD",
        gpu_hours=Decimal(1),
    )


def anomaly_rule(scope: dict | None = None, **parameters):
    return rules.create_rule(
        name="Spend anomalies", kind="anomaly", scope=scope or {"team": "*"}, parameters=parameters
    )


def fired() -> list[Alert]:
    return list(Alert.objects.filter(kind="anomaly").order_by("window_start"))


# --- the robust z, by hand -------------------------------------------------------------------


def test_robust_z_of_a_hand_computed_series():
    # median 15; deviations 5,3,1,1,3,85 -> sorted 1,1,3,3,5,85 -> MAD 3
    score = robust_z(Decimal(30), [Decimal(v) for v in (10, 12, 14, 16, 18, 100)])
    assert (score.median, score.spread, score.method) == (Decimal(15), Decimal(3), "MAD")
    assert score.z == Decimal("0.6745") * 15 / 3 == Decimal("3.3725")


def test_mad_of_zero_falls_back_to_the_mean_absolute_deviation():
    # median 100; deviations 0,0,0,0,30 -> MAD 0, MeanAD 6
    score = robust_z(Decimal(160), [Decimal(v) for v in (100, 100, 100, 100, 130)])
    assert score.method == "mean absolute deviation" and score.spread == Decimal(6)
    assert score.z == Decimal(60) / (Decimal("1.253314") * 6)
    assert round(score.z, 3) == Decimal("7.979")


def test_a_constant_baseline_makes_any_change_unbounded_and_no_change_zero():
    flat = [Decimal(100)] * 10
    assert robust_z(Decimal(101), flat).z == INFINITE
    assert robust_z(Decimal(99), flat).z == -INFINITE
    assert robust_z(Decimal(100), flat).z == 0


def test_the_decomposition_adds_up_to_the_change_and_names_the_largest_part():
    base = Day(busy={("a", "r1"): [Decimal(100), 1_000_000]}, idle=Decimal(10))
    day = Day(
        busy={("a", "r1"): [Decimal(240), 2_000_000], ("b", "r2"): [Decimal(30), 100_000]},
        idle=Decimal(25),
    )
    parts, new = decompose(day, base, known={"r1"})
    assert new == ["r2"]
    assert parts == {
        "tokens": Decimal(100),  # (2M - 1M) x 0.0001
        "cost per token": Decimal(40),  # 2M x (0.00012 - 0.0001)
        "mix": Decimal(0),
        "idle": Decimal(15),
        "new resource": Decimal(30),
    }
    assert sum(parts.values()) == day.total - base.total
    assert driver(parts, Decimal(1)) == "tokens"
    assert driver(parts, Decimal(-1)) == "mix"  # nothing fell: the first of the zero parts


# --- the rule over allocations ----------------------------------------------------------------


def steady_month() -> None:
    """Nov 1..28: 100, 105, 110, 115, 120 repeating (day n: 100 + 5 x (n mod 5)), 1M tokens a
    day. Sorted: 100 x5, 105 x6, 110 x6, 115 x6, 120 x5 -> median 110; deviations 0 x6, 5 x12,
    10 x10 -> MAD 5."""
    for n in range(1, 29):
        usage(nov(n), str(100 + 5 * (n % 5)), 1_000_000)


@pytest.mark.django_db
def test_a_day_far_above_its_median_fires_with_the_hand_computed_z():
    steady_month()
    usage(nov(29), "160", 1_600_000)
    anomaly_rule()
    evaluate_all(NOW)
    (alert,) = fired()
    values = alert.details["values"]
    assert Decimal(values["median"]) == 110 and Decimal(values["spread"]) == 5
    assert Decimal(values["z"]) == Decimal("0.6745") * 50 / 5  # 6.745
    assert (alert.scope, alert.window_start) == ("team=search", nov(29, 0))
    assert (alert.spent, alert.budget_amount) == (Decimal(160), Decimal(110))
    assert values["driver"] == "tokens"
    assert "far above its 28-day median of $110.00" in alert.details["headline"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spend", "floor", "fires"),
    [
        ("160", "50", True),  # z 6.745, 50 of deviation: at the floor
        ("160", "60", False),  # z 6.745 but below the floor
        ("130", "0", False),  # 20 of deviation, z 2.698: within the baseline
    ],
)
def test_the_floor_and_the_threshold_both_must_be_passed(spend, floor, fires):
    steady_month()
    usage(nov(29), spend, 1_000_000)
    anomaly_rule(floor=floor)
    evaluate_all(NOW)
    assert len(fired()) == (1 if fires else 0)


@pytest.mark.django_db
def test_small_numbers_page_nobody_even_against_a_constant_baseline():
    for n in range(15, 29):
        usage(nov(n), "2", 1000)
    usage(nov(29), "40", 1000)  # z unbounded, 38 of deviation < the $50 floor
    anomaly_rule()
    evaluate_all(NOW)
    assert fired() == []


@pytest.mark.django_db
def test_a_scope_with_less_than_a_week_of_history_is_not_judged():
    for n in range(24, 29):
        usage(nov(n), "100", 1_000_000)
    usage(nov(29), "900", 9_000_000)
    anomaly_rule()
    evaluate_all(NOW)
    assert fired() == []


def flat_fortnight(**extra) -> None:
    """Nov 15..28: $100 for 1M tokens of llama-70b on i-gpu, plus $10 of the pool's idle."""
    for n in range(15, 29):
        usage(nov(n), "100", 1_000_000)
        idle(nov(n), "10")


def spike_volume() -> None:
    usage(nov(29), "300", 3_000_000)
    idle(nov(29), "10")


def spike_price() -> None:
    usage(nov(29), "300", 1_000_000)
    idle(nov(29), "10")


def spike_idle() -> None:
    usage(nov(29), "100", 1_000_000)
    idle(nov(29), "300")


def spike_new_resource() -> None:
    usage(nov(29), "100", 1_000_000)
    usage(nov(29), "250", 500_000, resource="i-new")
    idle(nov(29), "10")


def spike_mix() -> None:
    # Half the tokens move to a model ten times dearer: same volume, same prices, other mix.
    usage(nov(29), "50", 500_000)
    usage(nov(29), "500", 500_000, model="gpt-big", endpoint="chat")
    idle(nov(29), "10")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("spike", "name", "amount"),
    [
        (spike_volume, "tokens", "200"),
        (spike_price, "cost per token", "200"),
        (spike_idle, "idle", "290"),
        (spike_new_resource, "new resource", "250"),
        (spike_mix, "mix", "450"),
    ],
)
def test_the_alert_names_the_driver(spike, name, amount):
    flat_fortnight()
    spike()
    anomaly_rule()
    evaluate_all(NOW)
    (alert,) = fired()
    values = alert.details["values"]
    assert values["driver"] == name
    assert Decimal(values[f"change_{name.replace(' ', '_')}"]) == Decimal(amount)
    changes = [Decimal(v) for k, v in values.items() if k.startswith("change_")]
    assert sum(changes) == alert.spent - Decimal(110)  # exact against the median day
    label = {"mix": "model mix", "new resource": "new resource (i-new)"}.get(name, name)
    assert f"driver: {label} (+${Decimal(amount):,.2f})" in alert.details["headline"]
    assert alert.drivers[0]["name"] == label


@pytest.mark.django_db
def test_per_model_the_mix_is_of_endpoints():
    flat_fortnight()
    usage(nov(29), "50", 500_000)
    usage(nov(29), "500", 500_000, endpoint="batch", resource="i-gpu")
    anomaly_rule({"model": "*"})
    evaluate_all(NOW)
    (alert,) = fired()
    assert alert.scope == "model=llama-70b"
    assert alert.details["values"]["driver"] == "mix"
    assert "driver: endpoint mix" in alert.details["headline"]


@pytest.mark.django_db
def test_busy_only_leaves_the_idle_out():
    flat_fortnight()
    spike_idle()
    anomaly_rule(idle="busy_only")
    evaluate_all(NOW)
    assert fired() == []


@pytest.mark.django_db
def test_a_day_fires_once_across_evaluations_and_the_next_day_rearms():
    flat_fortnight()
    spike_volume()
    rule = anomaly_rule()
    for minutes in (0, 15, 30):
        evaluate_all(NOW + timedelta(minutes=minutes))
    assert len(fired()) == 1
    usage(nov(30), "300", 3_000_000)
    idle(nov(30), "10")
    evaluate_all(NOW + timedelta(days=1))
    assert [a.window_start for a in fired()] == [nov(29, 0), nov(30, 0)]
    assert all(a.rule == rule for a in fired())


@pytest.mark.django_db
def test_a_drop_fires_only_when_asked_for_both_directions():
    flat_fortnight()
    usage(nov(29), "10", 100_000)
    idle(nov(29), "1")
    anomaly_rule()
    evaluate_all(NOW)
    assert fired() == []
    anomaly_rule(direction="both")
    evaluate_all(NOW)
    (alert,) = fired()
    assert alert.details["values"]["driver"] == "tokens"
    assert "far below" in alert.details["headline"]
