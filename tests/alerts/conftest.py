"""Builders and real loopback servers for the alert tests: an aiosmtpd SMTP server and
pytest-httpserver standing in for Slack and webhooks."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from costapp.alerts import services
from costapp.attribution.models import Allocation

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def spend(
    when: datetime,
    amount: str | Decimal,
    *,
    kind: str = "usage",
    team: str = "search",
    model: str = "llama-70b",
    endpoint: str = "chat",
    pool: str = "aws/us-east-1/H100",
    resource_id: str = "i-gpu",
    billed: str | Decimal | None = None,
    currency: str = "USD",
) -> Allocation:
    """One allocation row (what the engine writes) of `amount` at the hour `when`."""
    tagged = kind in ("usage", "shared")
    return Allocation.objects.create(
        hour=when.replace(minute=0, second=0, microsecond=0),
        resource_id=resource_id,
        pool=pool if kind != "shared" else "",
        kind=kind,
        team=team if tagged else "",
        model=model if kind == "usage" else "",
        endpoint=endpoint if kind == "usage" else "",
        amortized_cost=Decimal(amount),
        billed_cost=Decimal(billed if billed is not None else amount),
        currency=currency,
    )


def day(n: int, hour: int = 12) -> datetime:
    """November n, 2026 at `hour` UTC."""
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def budget(**data):
    data.setdefault("name", "GPU spend")
    data.setdefault("amount", "1000")
    data.setdefault("forecast", False)
    return services.create_budget(**data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received; refuse addresses by listing them in `refuse`."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list:
        return self.inbox.messages


@pytest.fixture
def smtp_down(settings):
    """An SMTP server configured but not started yet (call .start())."""
    server = SmtpServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_down):
    smtp_down.start()
    return smtp_down
