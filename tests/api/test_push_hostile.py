"""Hostile values through the real push endpoint: each is a 400 JSON naming the record's index
and field, the batch stores nothing, and the run's error is our located message, never the
database's text."""

from __future__ import annotations

import json

import pytest
from django.db.models import Sum
from django.test import Client

from costapp.ingest.models import IngestionRun, RunStatus, SeenRequest, UsageRollup
from costapp.sources.models import Source
from costapp.sources.push import issue_token
from tests.sources.conftest import request_line

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage"
# What PostgreSQL or psycopg would say, had a value reached the database.
DATABASE_TEXT = ("numeric field overflow", "out of range", "value too long", "0x00", "psycopg")

# field -> hostile value, as JSON text (Infinity and NaN are not JSON, but Python's parser and
# many clients' serialisers write and read them).
CASES = [
    ("year 9999", "timestamp", '"9999-12-31T23:00:00Z"', "window"),
    ("year 0001", "timestamp", '"0001-01-01T00:00:00Z"', "window"),
    ("unix time past year 9999", "timestamp", "1e20", "timestamp"),
    ("tokens 2^63", "input_tokens", str(2**63), str(2**63)),
    ("tokens 10^30", "output_tokens", str(10**30), "too large"),
    ("Infinity tokens", "input_tokens", "Infinity", "whole number"),
    ("NaN tokens", "output_tokens", "NaN", "whole number"),
    ("latency 1e300", "latency_ms", "1e300", "too large"),
    ("gpu_seconds 1e18", "gpu_seconds", "1e18", "too large"),
    ("gpu_seconds Infinity", "gpu_seconds", "-Infinity", "finite"),
    ("team longer than its column", "team", json.dumps("t" * 201), "at most 200"),
    ("request id longer than its column", "request_id", json.dumps("r" * 201), "at most 200"),
    ("endpoint of a megabyte", "endpoint", json.dumps("e" * 1_000_000), "at most 200"),
    ("NUL in a tag", "model", json.dumps("llama\x00"), "NUL"),
    ("NUL in the request id", "request_id", json.dumps("\x00"), "NUL"),
    ("NUL in the resource", "resource_id", json.dumps("i-\x00"), "NUL"),
]


@pytest.fixture
def token():
    source = Source.objects.create(
        name="gateway", format="jsonl", location_kind=Source.Location.PUSH
    )
    return issue_token(source)


def _post(token: str, body: str):
    return Client().post(
        URL, body, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def _batch(*ids: str, bad: tuple[str, str] | None = None) -> str:
    """A JSON list of records; the last one's `field` replaced by raw JSON text."""
    records = [request_line(i) for i in ids]
    if bad:
        field, text = bad
        record = json.loads(records[-1])
        record[field] = "__HOSTILE__"
        records[-1] = json.dumps(record).replace('"__HOSTILE__"', text)
    return "[" + ",".join(records) + "]"


def _stored() -> tuple:
    rollups = UsageRollup.objects.aggregate(r=Sum("requests"), t=Sum("input_tokens"))
    return UsageRollup.objects.count(), rollups["r"], rollups["t"], SeenRequest.objects.count()


@pytest.mark.parametrize(("fault", "field", "text", "mention"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_value_is_400_naming_its_record_and_field_and_stores_nothing(
    token, fault, field, text, mention
):
    assert _post(token, _batch("a", "b")).status_code == 200
    before = _stored()

    response = _post(token, _batch("c", "d", "e", bad=(field, text)))

    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["index"], body["field"]) == (2, field), body
    assert mention in body["error"], body
    assert _stored() == before
    run = IngestionRun.objects.order_by("-pk").first()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith(f"push:gateway, line 3, column {field}: "), run.error
    assert (run.error_line, run.error_column) == (3, field)
    assert "\x00" not in run.error and len(run.error) < 500
    for text in DATABASE_TEXT:
        assert text not in run.error.lower(), run.error


def test_a_value_within_every_limit_is_stored(token):
    record = json.loads(request_line("edge", input_tokens=10**12 - 1, gpu_seconds=999_999_999))
    record["team"] = "t" * 200
    response = _post(token, json.dumps([record]))
    assert response.status_code == 200, response.content
    assert UsageRollup.objects.get().input_tokens == 10**12 - 1


def test_a_key_repeated_in_a_record_is_400_naming_the_record_and_key(token):
    """json would keep the last value: a request tagged "search" then "ads" charged to ads."""
    assert _post(token, _batch("a", "b")).status_code == 200
    before = _stored()
    body = _batch("c", "d", "e").replace('"team": "search"', '"team": "search", "team": "ads"', 1)
    assert body.count('"team"') == 4, "the builder's team tag changed: update this test"

    response = _post(token, body)

    assert response.status_code == 400
    assert (response.json()["index"], response.json()["field"]) == (0, "team")
    assert "appears twice" in response.json()["error"]
    assert _stored() == before
