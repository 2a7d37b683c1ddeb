"""Local folder sources: new or changed files are deliveries; the watermark survives ties."""

from __future__ import annotations

import os

import pytest

from costapp.ingest.models import RunStatus, UsageRollup
from costapp.sources.deliveries import Entry, Watermark, plan
from costapp.sources.models import Source
from costapp.sources.service import run_source

from .conftest import request_line

pytestmark = pytest.mark.django_db


def _touch(path, seconds: int) -> None:
    os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


def test_files_that_arrive_after_a_poll_are_the_next_deliveries(make_source, tmp_path):
    (tmp_path / "a.jsonl").write_text(request_line("a"))
    _touch(tmp_path / "a.jsonl", 1000)
    source = make_source(location=str(tmp_path))
    assert [r.status for r in run_source(source)] == [RunStatus.SUCCEEDED]

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_text(request_line("b"))
    (tmp_path / ".partial.jsonl").write_text("{half")
    _touch(tmp_path / "sub" / "b.jsonl", 2000)
    source.refresh_from_db()
    runs = run_source(source)
    assert [r.location for r in runs] == [str(tmp_path / "sub" / "b.jsonl")]
    source.refresh_from_db()
    assert run_source(source) == []
    assert sum(r.requests for r in UsageRollup.objects.all()) == 2


def test_a_changed_file_is_read_again(make_source, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(request_line("a"))
    _touch(path, 1000)
    source = make_source(location=str(tmp_path))
    run_source(source)
    path.write_text(request_line("a") + "\n" + request_line("b"))
    _touch(path, 1001)
    source.refresh_from_db()
    [run] = run_source(source)
    assert (run.rows_read, run.rows_stored) == (2, 1)


def test_files_written_in_the_same_clock_tick_are_not_lost(make_source, tmp_path):
    (tmp_path / "a.jsonl").write_text(request_line("a"))
    _touch(tmp_path / "a.jsonl", 1000)
    source = make_source(location=str(tmp_path))
    run_source(source)
    (tmp_path / "b.jsonl").write_text(request_line("b"))
    _touch(tmp_path / "b.jsonl", 1000)
    source.refresh_from_db()
    assert [r.location for r in run_source(source)] == [str(tmp_path / "b.jsonl")]


def test_folder_grouping_brings_the_whole_folder_when_one_part_is_new(make_source, tmp_path):
    for month, name, second in [("2026-10", "p1", 1), ("2026-11", "p1", 2), ("2026-11", "p2", 3)]:
        folder = tmp_path / month
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.jsonl").write_text(request_line(f"{month}-{name}"))
        _touch(folder / f"{name}.jsonl", second)
    source = make_source(location=str(tmp_path), options={"group": "folder"})
    runs = run_source(source)
    assert [(r.location, r.files) for r in runs] == [
        (str(tmp_path / "2026-10" / "p1.jsonl"), 1),
        (str(tmp_path / "2026-11"), 2),
    ]
    (tmp_path / "2026-11" / "p3.jsonl").write_text(request_line("late"))
    _touch(tmp_path / "2026-11" / "p3.jsonl", 4)
    source.refresh_from_db()
    assert [r.files for r in run_source(source)] == [3]


def test_a_missing_folder_is_a_recorded_failure(make_source, tmp_path):
    source = make_source(location=str(tmp_path / "nope"))
    [run] = run_source(source)
    assert run.status == RunStatus.FAILED and "no such folder" in run.error


def test_plan_orders_groups_so_an_interrupted_poll_loses_nothing():
    entries = [
        Entry(5, "a/1", None),
        Entry(1, "b/1", None),
        Entry(7, "b/2", None),
        Entry(3, "c/1", None),
    ]
    groups = plan(entries, Watermark(), by_folder=True)
    assert [[e.key for e in members] for members, _ in groups] == [["c/1"], ["a/1"], ["b/1", "b/2"]]
    # Stopped after the first group: the next poll plans exactly the groups not yet handled.
    mark = Watermark()
    mark.advance(groups[0][1])
    replanned = plan(entries, mark, by_folder=True)
    assert [members for members, _ in replanned] == [members for members, _ in groups[1:]]


def test_pushed_sources_have_nothing_to_poll(make_source):
    assert run_source(make_source(location_kind=Source.Location.PUSH)) == []
