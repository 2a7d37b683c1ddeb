"""The benchmark harness runs end to end at size XS and writes every headline figure (smoke test:
no timing is asserted, only that each key holds a number and the table is written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import HEADLINES
from costapp.dburl import url_from_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_every_part_at_size_xs_writes_each_headline_as_a_number(tmp_path):
    from django.db import connection

    env = {
        **os.environ,
        "DATABASE_URL": url_from_settings(connection.settings_dict),
        "BENCH_SIZE": "XS",
        "BENCH_RESULTS_DIR": str(tmp_path),
        "INFERENCE_LEDGER_DEV": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    for key in HEADLINES:
        assert isinstance(results[key], int | float), (key, results[key])
    assert results["size"]["name"] == "XS"
    assert {"cpu_count", "cpu_model", "memory_gb", "python", "postgres"} <= set(results["machine"])
    table = (tmp_path / "latest.md").read_text()
    assert "| overview p95 (ms) |" in table and "not run" not in table


def test_an_unknown_part_is_refused():
    from bench.__main__ import main

    assert main(["nonsense"]) == 2


def test_a_run_of_some_parts_keeps_the_other_parts_of_the_same_size(tmp_path):
    from bench import report
    from bench.sizes import SIZES

    machine = {"cpu_count": 2, "cpu_model": "x", "memory_gb": 1, "python": "3.11",
               "postgres": "15", "load_average": [1.0, 1.0, 1.0]}  # fmt: skip
    stamp = report.stamp(machine)
    earlier = report.summarise(
        SIZES["L"], machine, {"workers": {"speedup": 1.7, "windows": 30, "what": "w", "run": stamp}}
    )
    (tmp_path / "latest.json").write_text(json.dumps(earlier))

    raw = report.merged(
        tmp_path / "latest.json", SIZES["L"], {"memory": {"ratio": 1.1, "note": "n"}}
    )
    assert raw["workers"]["speedup"] == 1.7 and raw["memory"]["ratio"] == 1.1
    results = report.summarise(SIZES["L"], machine, raw)
    assert results["worker_speedup_2_over_1"] == 1.7
    assert "workers " + stamp["measured_at"] in report.markdown(results)
    # A part measured now replaces the earlier figure; another size's file is not mixed in.
    assert report.merged(tmp_path / "latest.json", SIZES["L"], {"workers": {"speedup": 2}}) == {
        "workers": {"speedup": 2}
    }
    assert report.merged(tmp_path / "latest.json", SIZES["S"], {}) == {}
    assert report.merged(tmp_path / "missing.json", SIZES["L"], {}) == {}


def test_page_latencies_tell_paths_apart_by_their_query_string(tmp_path):
    from bench.dashboard import latencies

    log = tmp_path / "access.log"
    log.write_text("/  200 1500\n/ start=2026-10-01 200 90000\n/ start=2026-10-01 500 10\n")
    assert latencies(log, "/") == [1.5]
    assert latencies(log, "/?start=2026-10-01") == [90.0]
