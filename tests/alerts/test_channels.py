"""Each channel against a real loopback server: the content that arrives, how failures are
classed, and secrets kept masked and encrypted."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from django.db import connection
from werkzeug import Response

from costapp.alerts import services
from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_budget
from costapp.alerts.models import Channel, Delivery

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db


def fire(*channels: Channel) -> None:
    spend(day(10), "700", team="search")
    spend(day(10), "150", team="ads", model="mistral")
    evaluate_budget(budget(name="Inference", channels=[c.pk for c in channels]), NOW)


def test_email_arrives_with_subject_text_html_and_drivers(smtp):
    fire(services.create_channel("finops", "email", "finops@example.com, cfo@example.com"))
    assert deliver_due(NOW).sent
    (mail,) = smtp.messages
    assert mail["Subject"] == (
        "[Inference Ledger] Inference reached 80% of its $1,000.00 budget: $850.00 spent"
    )
    assert mail["To"] == "finops@example.com, cfo@example.com"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "search: $700.00" in text and "Also crossed: 50% actual" in text
    assert "<li>ads: $150.00</li>" in html and "/budgets/" in html


def test_slack_gets_block_kit_with_amount_forecast_drivers_and_link(httpserver):
    httpserver.expect_request("/services/T0/B0/secret", method="POST").respond_with_data("ok")
    fire(services.create_channel("eng", "slack", httpserver.url_for("/services/T0/B0/secret")))
    assert deliver_due(NOW).sent
    ((request, _),) = httpserver.log
    body = request.get_json()
    assert body["text"].startswith("Inference reached 80% of its $1,000.00 budget")
    rendered = json.dumps(body["blocks"])
    assert "*Spent:* $850.00 (85%)" in rendered
    assert "search: $700.00" in rendered
    assert body["blocks"][-1]["elements"][0]["url"].endswith(
        f"/budgets/{Delivery.objects.get().alert.budget_id}/"
    )


def test_webhook_body_is_signed_with_the_channel_secret(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    channel = services.create_channel("ops", "webhook", httpserver.url_for("/hook"), secret="s3")
    fire(channel)
    assert deliver_due(NOW).sent
    ((request, _),) = httpserver.log
    expected = "sha256=" + hmac.new(b"s3", request.get_data(), hashlib.sha256).hexdigest()
    assert request.headers["X-Inference-Ledger-Signature"] == expected
    payload = json.loads(request.get_data())
    assert (payload["threshold"], payload["spent"], payload["kind"]) == (
        80,
        "850.0000000000",
        "actual",
    )
    assert payload["delivery_id"] == str(Delivery.objects.get().pk)


@pytest.mark.parametrize("status", [404, 410])
def test_a_dead_slack_webhook_marks_the_channel_broken(httpserver, status):
    httpserver.expect_request("/dead").respond_with_data("no_service", status=status)
    channel = services.create_channel("eng", "slack", httpserver.url_for("/dead"))
    fire(channel)
    assert deliver_due(NOW).dead
    channel.refresh_from_db()
    assert channel.is_broken and str(status) in channel.broken_reason
    assert Delivery.objects.get().status == "dead"


def test_a_refused_address_marks_the_email_channel_broken(smtp):
    smtp.inbox.refuse.add("gone@example.com")
    channel = services.create_channel("finops", "email", "gone@example.com")
    fire(channel)
    assert deliver_due(NOW).dead
    channel.refresh_from_db()
    assert "SMTP [550]" in channel.broken_reason
    assert smtp.messages == []


def test_a_repaired_channel_sends_what_waited_for_it(httpserver):
    httpserver.expect_request("/dead").respond_with_data("", status=404)
    httpserver.expect_request("/alive").respond_with_data("ok")
    channel = services.create_channel("eng", "slack", httpserver.url_for("/dead"))
    fire(channel)
    deliver_due(NOW)
    services.set_channel_target(channel, httpserver.url_for("/alive"))
    Delivery.objects.update(status="pending")  # what the page's "retry" would do
    assert deliver_due(NOW).sent
    assert [r.path for r, _ in httpserver.log] == ["/dead", "/alive"]


def test_targets_and_secrets_are_encrypted_at_rest_and_masked(httpserver):
    url = httpserver.url_for("/services/T0/B0/very-secret")
    channel = services.create_channel("eng", "slack", url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT target_encrypted FROM alerts_channel WHERE id = %s", [channel.pk])
        (stored,) = cursor.fetchone()
    assert "very-secret" not in stored
    assert Channel.objects.get().target == url
    assert channel.masked_target == "http://localhost/***"
    assert "very-secret" not in str(channel) and "very-secret" not in repr(channel)
    mail = services.create_channel("m", "email", "alice@example.com")
    assert mail.masked_target == "a***@example.com"


def test_errors_never_quote_the_target(caplog):
    url = "http://127.0.0.1:1/services/T0/B0/very-secret"  # nothing listens on port 1
    channel = services.create_channel("eng", "webhook", url)
    fire(channel)
    with caplog.at_level(logging.DEBUG):
        result = deliver_due(NOW)
    assert result.retrying
    delivery = Delivery.objects.get()
    assert delivery.last_error == "could not reach the webhook (ConnectionError)"
    assert "very-secret" not in caplog.text
    assert "very-secret" not in services.test_send(channel).error


def test_test_send_reports_the_result_without_retrying(httpserver):
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/busy").respond_with_handler(lambda r: Response("", status=500))
    ok = services.create_channel("ok", "slack", httpserver.url_for("/ok"))
    busy = services.create_channel("busy", "slack", httpserver.url_for("/busy"))
    assert services.test_send(ok) == services.TestResult(True, "")
    failed = services.test_send(busy)
    assert not failed.ok and "500" in failed.error
    assert len(httpserver.log) == 2 and Delivery.objects.count() == 0
    assert "Test notification" in httpserver.log[0][0].get_json()["text"]
