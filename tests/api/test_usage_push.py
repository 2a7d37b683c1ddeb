"""POST /api/v1/usage: token auth, all-or-nothing batches, idempotency by request id."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from costapp.ingest.models import IngestionRun, RunStatus, UsageRollup
from costapp.sources.models import Source
from costapp.sources.push import issue_token
from tests.sources.conftest import request_line

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage"


@pytest.fixture
def pushed():
    source = Source.objects.create(
        name="gateway", format="jsonl", location_kind=Source.Location.PUSH
    )
    return source, issue_token(source)


def _post(token: str | None, payload, client: Client | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return (client or Client(enforce_csrf_checks=True)).post(
        URL, body, content_type="application/json", headers=headers
    )


def _records(*ids: str, **extra) -> list[dict]:
    return [json.loads(request_line(i, **extra)) for i in ids]


def test_a_batch_is_stored_as_hourly_rollups_under_its_source(pushed):
    source, token = pushed
    response = _post(token, {"records": _records("a", "b")})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["received"], body["stored"]) == ("succeeded", 2, 2)
    run = IngestionRun.objects.get(pk=body["run_id"])
    assert run.source == source and run.location == "push"
    assert UsageRollup.objects.get().requests == 2


def test_the_token_is_shown_once_and_only_its_sha256_is_stored(pushed):
    source, token = pushed
    source.refresh_from_db()
    assert source.api_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(Source.objects.values().get(), default=str)


def test_a_missing_or_wrong_token_is_401(pushed):
    source, token = pushed
    assert _post(None, _records("a")).status_code == 401
    assert _post(token + "x", _records("a")).status_code == 401
    response = _post("Basic " + token, _records("a"))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    source.enabled = False
    source.save()
    assert _post(token, _records("a")).status_code == 401
    assert not UsageRollup.objects.exists()


def test_a_reissued_token_replaces_the_old_one(pushed):
    source, old = pushed
    new = issue_token(source)
    assert _post(old, _records("a")).status_code == 401
    assert _post(new, _records("a")).status_code == 200


def test_a_bad_record_is_400_with_its_index_and_field_and_nothing_of_the_batch_is_stored(pushed):
    _, token = pushed
    batch = _records("a", "b", "c")
    batch[2]["output_tokens"] = "many"
    response = _post(token, batch)
    assert response.status_code == 400
    body = response.json()
    assert (body["index"], body["field"]) == (2, "output_tokens")
    assert "many" in body["error"]
    assert not UsageRollup.objects.exists()


def test_a_missing_field_and_a_non_object_are_located_too(pushed):
    _, token = pushed
    batch = _records("a", "b")
    del batch[1]["team"]
    assert _post(token, batch).json() | {"error": ""} == {"error": "", "index": 1, "field": "team"}
    response = _post(token, [_records("a")[0], "oops"])
    assert (response.status_code, response.json()["index"]) == (400, 1)


def test_a_repeated_request_id_within_a_batch_is_rejected(pushed):
    _, token = pushed
    response = _post(token, _records("a", "b", "a"))
    assert (response.status_code, response.json()["index"], response.json()["field"]) == (
        400,
        2,
        "request_id",
    )


def test_a_retried_batch_and_overlapping_ids_never_count_twice(pushed):
    _, token = pushed
    assert _post(token, _records("a", "b")).json()["stored"] == 2
    again = _post(token, _records("a", "b")).json()
    assert (again["status"], again["stored"], again["duplicate_batch"]) == ("skipped", 0, True)
    overlap = _post(token, _records("b", "c")).json()
    assert (overlap["status"], overlap["stored"]) == (RunStatus.SUCCEEDED, 1)
    assert sum(r.requests for r in UsageRollup.objects.all()) == 3


def test_bodies_that_are_not_a_batch_are_400(pushed):
    _, token = pushed
    assert _post(token, "{nope").status_code == 400
    assert _post(token, {"records": []}).status_code == 400
    assert _post(token, {"rows": _records("a")}).status_code == 400


def test_only_post_is_allowed(pushed):
    _, token = pushed
    response = Client().get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
