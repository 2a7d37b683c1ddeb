"""The outbox: retries with backoff until exactly one message arrives, Retry-After honoured, a
failing channel holding up nobody, bounded attempts, and rows left by a dead worker sent by the
next pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug import Response

from costapp.alerts import services
from costapp.alerts.delivery import BACKOFF, MAX_ATTEMPTS, deliver_due, next_attempt
from costapp.alerts.evaluate import evaluate_budget
from costapp.alerts.models import Channel, Delivery

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db


def fire(*channels: Channel) -> None:
    spend(day(10), "900")
    evaluate_budget(budget(channels=[c.pk for c in channels]), NOW)


class Flaky:
    """Answers the given statuses in turn, then 200."""

    def __init__(self, *answers: tuple[int, dict]) -> None:
        self.answers = list(answers)

    def __call__(self, request) -> Response:
        if self.answers:
            status, headers = self.answers.pop(0)
            return Response("busy", status=status, headers=headers)
        return Response("ok")


def test_first_retries_come_within_a_minute_then_back_off():
    assert next_attempt(1, NOW) - NOW <= timedelta(minutes=1)
    assert next_attempt(2, NOW) - NOW <= timedelta(minutes=1)
    assert tuple(sorted(BACKOFF)) == BACKOFF
    assert next_attempt(1, NOW, retry_after=120) == NOW + timedelta(seconds=120)


def test_smtp_down_then_up_delivers_exactly_one_message(smtp_down):
    fire(services.create_channel("finops", "email", "finops@example.com"))
    assert deliver_due(NOW).retrying
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "could not reach the mail server" in row.last_error
    assert deliver_due(NOW).sent == []  # not due yet
    smtp_down.start()
    later = row.next_attempt_at
    assert deliver_due(later).sent == [row.pk]
    assert deliver_due(later + timedelta(hours=1)).sent == []
    assert len(smtp_down.messages) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")


@pytest.mark.parametrize(
    ("answer", "wait"),
    [((500, {}), BACKOFF[0]), ((429, {"Retry-After": "42"}), timedelta(seconds=42))],
)
def test_slack_failing_then_ok_delivers_exactly_one_message(httpserver, answer, wait):
    httpserver.expect_request("/slack").respond_with_handler(Flaky(answer))
    fire(services.create_channel("eng", "slack", httpserver.url_for("/slack")))
    deliver_due(NOW)
    row = Delivery.objects.get()
    assert row.next_attempt_at == NOW + wait  # Retry-After honoured
    assert deliver_due(NOW + wait - timedelta(seconds=1)).sent == []
    assert deliver_due(NOW + wait).sent == [row.pk]
    deliver_due(NOW + timedelta(days=1))
    assert len(httpserver.log) == 2
    assert [resp.status_code for _, resp in httpserver.log] == [answer[0], 200]


def test_a_failing_channel_never_holds_up_the_others(httpserver, smtp):
    httpserver.expect_request("/down").respond_with_data("", status=503)
    httpserver.expect_request("/up").respond_with_data("ok")
    down = services.create_channel("down", "slack", httpserver.url_for("/down"))
    up = services.create_channel("up", "slack", httpserver.url_for("/up"))
    mail = services.create_channel("mail", "email", "finops@example.com")
    fire(down, up, mail)
    result = deliver_due(NOW)
    assert len(result.sent) == 2 and len(result.retrying) == 1
    assert len(smtp.messages) == 1
    assert [r.path for r, _ in httpserver.log].count("/up") == 1


def test_retries_are_bounded(httpserver):
    httpserver.expect_request("/down").respond_with_data("", status=500)
    fire(services.create_channel("down", "slack", httpserver.url_for("/down")))
    moment = NOW
    for _ in range(MAX_ATTEMPTS + 3):
        deliver_due(moment)
        moment += timedelta(days=1) if moment - NOW > timedelta(hours=20) else timedelta(hours=7)
    row = Delivery.objects.get()
    assert row.status == "dead" and row.attempts <= MAX_ATTEMPTS
    assert row.last_error.startswith(f"gave up after {row.attempts} attempts")
    assert not Channel.objects.get().is_broken  # only a permanent answer breaks a channel


def test_rows_a_previous_worker_left_pending_are_sent_by_the_next_pass(smtp):
    fire(services.create_channel("finops", "email", "finops@example.com"))
    # What a worker killed mid-send leaves: its transaction rolled back, the row as it was.
    assert Delivery.objects.get().status == "pending"
    assert deliver_due(NOW + timedelta(hours=3)).sent
    assert len(smtp.messages) == 1
