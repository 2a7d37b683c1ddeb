"""The forecast on hand-computed series, and the spend it reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costapp.alerts.evaluate import budget_forecast
from costapp.alerts.forecast import forecast, mean_and_std
from costapp.alerts.spend import daily_spend, period_bounds, top_drivers

from .conftest import budget, day, spend

D = Decimal


def test_mean_and_sample_deviation_by_hand():
    # mean 20; deviations -10, 0, 10; sample variance (100 + 0 + 100) / 2 = 100
    assert mean_and_std([D(10), D(20), D(30)]) == (D(20), D(10))


def test_forecast_extrapolates_the_recent_daily_mean_with_a_band():
    result = forecast([D(10), D(20), D(30)], spent=D(60), days_left=D(4))
    # point = 60 + 20 x 4 = 140; band = 2 x 10 x sqrt(4) = 40 either side
    assert (result.point, result.low, result.high) == (D(140), D(100), D(180))
    assert (result.mean_daily, result.std_daily, result.days_used) == (D(20), D(10), 3)


def test_forecast_uses_only_the_last_window_days():
    daily = [D(1000)] * 5 + [D(10)] * 14
    assert forecast(daily, spent=D(0), days_left=D(1)).mean_daily == D(10)


def test_forecast_band_never_goes_below_what_is_spent():
    result = forecast([D(0), D(100), D(0), D(100)], spent=D(200), days_left=D(1))
    # mean 50, std 57.735...; point 250; 250 - 115.47 < 200 -> clamped
    assert result.point == D(250)
    assert result.low == D(200)


def test_no_forecast_from_fewer_than_three_days():
    assert forecast([D(5), D(5)], spent=D(10), days_left=D(10)) is None


def test_periods_are_utc_months_and_quarters():
    assert period_bounds("month", day(20)) == (day(1).date(), day(1).date().replace(month=12))
    start, end = period_bounds("quarter", day(20))
    assert (start.isoformat(), end.isoformat()) == ("2026-10-01", "2027-01-01")


@pytest.mark.django_db
def test_budget_forecast_on_a_hand_computed_month():
    spend(day(1), "10")
    spend(day(2), "20")
    spend(day(3), "30")
    target = budget(forecast=True)
    spent, predicted, _ = budget_forecast(target, day(4, hour=0))
    # 27 days left (Nov 4 .. Nov 30); point = 60 + 20 x 27 = 600; band 2 x 10 x sqrt(27)
    assert spent == D(60)
    assert predicted.point == D(600)
    assert predicted.high == (D(600) + D(20) * D(27).sqrt()).quantize(D("1E-10"))


@pytest.mark.django_db
def test_spend_follows_scope_basis_and_idle_choice():
    spend(day(2), "100", team="search", billed="90")
    spend(day(2), "50", team="ads", model="mistral", billed="50")
    spend(day(2), "30", kind="idle", billed="30")
    spend(day(3), "7", kind="unallocated", pool="", resource_id="vol-1")

    def total(**data):
        return daily_spend(budget(**data), day(1).date(), day(21)).total()

    assert total() == D(187)  # the org, fully loaded: the whole bill
    assert total(idle="busy_only") == D(157)
    assert total(basis="billed") == D(177)
    assert total(scope={"pool": "aws/us-east-1/H100"}) == D(180)
    # search used the pool with 100 of 150: its idle share is 30 x 100 / 150 = 20
    assert total(scope={"team": "search"}) == D(120)
    assert total(scope={"team": "search"}, idle="busy_only") == D(100)
    assert total(scope={"model": "mistral"}) == D(60)
    series = daily_spend(budget(), day(1).date(), day(21))
    assert series.series(day(1).date(), day(4).date()) == [D(0), D(180), D(7)]


@pytest.mark.django_db
def test_top_drivers_name_teams_and_idle():
    spend(day(2), "100", team="search")
    spend(day(2), "50", team="ads")
    spend(day(2), "70", kind="idle")
    drivers = top_drivers(budget(), day(1).date(), day(21))
    assert [(d.name, d.amount) for d in drivers] == [
        ("search", D(100)),
        ("(idle)", D(70)),
        ("ads", D(50)),
    ]
