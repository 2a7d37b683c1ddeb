"""The ingestion benchmark runs end to end at a tiny size and prints its ratio lines."""

from __future__ import annotations

import re

import pytest

from bench import ingest as bench_ingest


@pytest.mark.django_db
def test_benchmark_prints_throughput_and_memory_ratios_for_each_format(capsys):
    code = bench_ingest.main(["--rows", "200", "--small", "200", "--large", "400"])

    out = capsys.readouterr().out
    assert code == 0, out
    for fmt in ("focus", "jsonl"):
        assert re.search(
            rf"^  {fmt}: ours [\d,]+ rows/s \(.*\); COPY [\d,]+ rows/s \(.*\); ours/COPY [\d.]+x",
            out,
            re.M,
        ), out
        assert re.search(
            rf"^  {fmt}: 200 rows [\d.]+ MB; 400 rows [\d.]+ MB; large/small [\d.]+x", out, re.M
        ), out


@pytest.mark.django_db
def test_benchmark_leaves_no_runs_or_tables_behind(capsys):
    from django.db import connection

    from costapp.ingest.models import CostLine, IngestionRun, LoadedBill

    bench_ingest.main(["--rows", "200", "--large", "0", "--formats", "focus"])

    assert not IngestionRun.objects.exists()
    assert not CostLine.objects.exists() and not LoadedBill.objects.exists()
    assert "bench_plain" not in connection.introspection.table_names()


def test_unknown_format_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench_ingest.main(["--formats", "xml"])
    assert "unknown format" in capsys.readouterr().err
