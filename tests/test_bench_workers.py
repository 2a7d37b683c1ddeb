"""The worker benchmark times the partition recompute_by_day makes, and warms every process on
real work (bench/workers.py); no timing is asserted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.workers import warmups, windows_of
from costapp.attribution.days import day_windows


def test_the_timed_windows_are_the_days_recompute_by_day_enqueues():
    start = datetime(2026, 10, 1, tzinfo=UTC)
    windows = windows_of(3, start)

    assert windows == [
        (low.isoformat(), high.isoformat())
        for low, high in day_windows(start, start + timedelta(days=3))
    ]
    assert [
        datetime.fromisoformat(end) - datetime.fromisoformat(begin) for begin, end in windows
    ] == [timedelta(days=1)] * 3


def test_each_worker_process_warms_up_on_a_real_hour_of_its_own_day():
    windows = windows_of(8)

    warm = warmups(windows, 2)

    assert len(warm) == 2
    for (begin, end), (day_start, day_end) in zip(warm, windows, strict=False):
        assert datetime.fromisoformat(end) - datetime.fromisoformat(begin) == timedelta(hours=1)
        assert day_start <= begin and end <= day_end
    assert warm[0][0][:10] != warm[1][0][:10]
