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
