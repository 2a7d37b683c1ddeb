"""Admin: credentials only as environment variable names; runs are read-only; tokens shown once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from costapp.ingest.models import IngestionRun, RunStatus
from costapp.sources.admin import SourceForm
from costapp.sources.models import Source

pytestmark = pytest.mark.django_db


def _form(refs="{}", **fields) -> SourceForm:
    return SourceForm(
        data={
            "name": "cur",
            "format": "cur2",
            "location_kind": "s3",
            "location": "s3://bills/cur/",
            "credentials_ref": refs,
            "options": "{}",
            "schedule_minutes": 60,
            "enabled": True,
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("kind", "wrong", "right"),
    [
        ("bigquery", "focus", "gcp"),
        ("prometheus", "dcgm", "prometheus"),
        ("exporter", "prometheus", "dcgm"),
        ("push", "otel", "jsonl"),
    ],
)
def test_a_kind_with_one_delivery_shape_takes_only_its_format(kind, wrong, right):
    refused = _form(location_kind=kind, format=wrong)
    assert not refused.is_valid()
    assert refused.errors["format"][0].endswith(f"delivers '{right}'")
    assert _form(location_kind=kind, format=right).is_valid()


def test_folders_and_s3_prefixes_take_any_format():
    for fmt in ("focus", "cur2", "dcgm", "jsonl", "nvidia-smi"):
        assert _form(format=fmt).is_valid(), fmt
        assert _form(format=fmt, location_kind="local", location="/data").is_valid(), fmt


def test_credentials_must_be_environment_variable_names_not_secrets():
    assert _form('{"aws_access_key_id": "AWS_KEY_BILLING"}').is_valid()
    pasted = _form('{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}')
    assert not pasted.is_valid()
    assert "must name an environment variable" in str(pasted.errors["credentials_ref"])


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    return client


def test_issuing_a_token_shows_it_once_and_stores_only_its_hash(admin_client):
    source = Source.objects.create(name="gw", format="jsonl", location_kind="push")
    page = admin_client.post(
        "/admin/sources/source/",
        {"action": "issue_push_token", "_selected_action": [source.pk]},
        follow=True,
    )
    # Shown on the action's own page, never in a message (tests/test_security.py has the rest).
    token = "ilp_" + page.content.decode().split('value="ilp_', 1)[1].split('"', 1)[0]
    source.refresh_from_db()
    assert token.startswith("ilp_") and source.api_token_hash and token not in source.api_token_hash
    listing = admin_client.get(f"/admin/sources/source/{source.pk}/change/")
    assert (
        token.encode() not in listing.content
        and source.api_token_hash.encode() not in listing.content
    )


def test_runs_are_listed_with_their_errors_and_cannot_be_edited(admin_client):
    run = IngestionRun.objects.create(
        format="focus",
        location="f.csv",
        status=RunStatus.FAILED,
        error="f.csv, line 2, column BilledCost: bad",
    )
    listing = admin_client.get("/admin/ingest/ingestionrun/")
    assert listing.status_code == 200 and b"line 2, column BilledCost" in listing.content
    assert admin_client.get("/admin/ingest/ingestionrun/add/").status_code == 403
    change = admin_client.post(
        f"/admin/ingest/ingestionrun/{run.pk}/change/", {"status": "succeeded"}
    )
    assert change.status_code in (200, 403)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
