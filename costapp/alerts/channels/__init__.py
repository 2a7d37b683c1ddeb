"""Alert channels, one package per kind (healthchecks' hc/integrations/<kind>/): each has a
`transport.notify(channel, message)` that returns when the remote accepted the message and
otherwise raises TransientError (worth retrying: a 5xx, a 429, a timeout, an SMTP server down)
or PermanentError (a dead webhook, a refused address: retrying cannot help), and a
`transport.validate(target)` that returns None or what is wrong with a target.

Error texts never quote the target: the caller also scrubs them (costapp.alerts.secrets.scrub).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..message import Message
    from ..models import Channel

# Every network call a transport makes gives up after this long (seconds): a delivery holds its
# outbox row's lock while it sends.
TIMEOUT = 10


class DeliveryError(Exception):
    pass


class TransientError(DeliveryError):
    def __init__(self, text: str, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    pass


def transport(kind: str) -> ModuleType:
    if kind not in ("email", "slack", "webhook"):
        raise ValueError(f"unknown channel kind {kind!r} (expected email, slack or webhook)")
    return import_module(f"{__name__}.{kind}.transport")


def notify(channel: Channel, message: Message) -> None:
    transport(channel.kind).notify(channel, message)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (what Slack sends); None otherwise."""
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
