"""Two workers at once, each with its own database connection: one message per channel."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from costapp.alerts import services
from costapp.alerts.delivery import deliver_due
from costapp.alerts.evaluate import evaluate_all, evaluate_budget
from costapp.alerts.models import Alert, Delivery

from .conftest import NOW, budget, day, spend

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    errors: list = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_workers_evaluating_and_delivering_at_once_send_one_message(smtp, httpserver):
    httpserver.expect_request("/slack").respond_with_data("ok")
    mail = services.create_channel("finops", "email", "finops@example.com")
    slack = services.create_channel("eng", "slack", httpserver.url_for("/slack"))
    spend(day(10), "900")
    budget(channels=[mail.pk, slack.pk])

    def worker() -> None:
        evaluate_all(NOW)
        deliver_due(NOW)

    assert in_threads(2, worker) == []
    assert Alert.objects.count() == 2
    assert Delivery.objects.filter(status="sent").count() == 2
    assert len(smtp.messages) == 1
    assert len(httpserver.log) == 1


def test_a_row_locked_by_a_worker_is_skipped_and_sent_after_that_worker_dies(smtp):
    channel = services.create_channel("finops", "email", "finops@example.com")
    spend(day(10), "900")
    evaluate_budget(budget(channels=[channel.pk]), NOW)
    locked = threading.Event()
    release = threading.Event()

    def dying_worker() -> None:
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get()
                locked.set()
                release.wait(30)
                raise RuntimeError("killed mid-send")
        except RuntimeError:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=dying_worker)
    thread.start()
    assert locked.wait(30)
    assert deliver_due(NOW).sent == []  # skipped, not waited for
    release.set()
    thread.join(30)
    assert deliver_due(datetime.now(UTC)).sent
    assert len(smtp.messages) == 1
