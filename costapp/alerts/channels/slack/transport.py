"""Slack through slack-sdk's incoming-webhook client, as Block Kit: what fired, the amount
against the budget and the forecast, the top drivers, a link to the budget's page."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from slack_sdk.webhook import WebhookClient

from .. import TIMEOUT, PermanentError, TransientError, retry_after

if TYPE_CHECKING:
    from ...message import Message
    from ...models import Channel

# slack-sdk logs the webhook URL (the credential) at debug level and on errors: it gets a
# logger of its own that says nothing. Our own log lines name the channel, masked.
_SILENT = logging.getLogger("costapp.alerts.channels.slack.sdk")
_SILENT.disabled = True
_SILENT.propagate = False


def validate(target: str) -> str | None:
    parts = urlsplit(target.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not a URL (expected https://hooks.slack.com/services/...)"
    return None


def blocks(message: Message) -> list[dict]:
    figures = [f"*Budget:* {message.money(message.amount)}"]
    if message.facts:
        figures = [f"*{label}:* {text}" for label, text in message.facts]
    elif message.kind != "test":
        figures.append(f"*Spent:* {message.money(message.spent)} ({message.percent_spent})")
    if message.forecast is not None:
        figures.append(
            f"*Forecast:* {message.money(message.forecast)} "
            f"({message.money(message.forecast_low)} to {message.money(message.forecast_high)})"
        )
    result: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.headline}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in figures]},
    ]
    if message.drivers:
        lines = "\n".join(f"• {name}: {message.money(amount)}" for name, amount in message.drivers)
        heading = "*What changed*" if message.rule else "*Top drivers*"
        result.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{heading}\n{lines}"}}
        )
    context = [f"Scope: {message.scope}"]
    if message.period:
        context.append(f"Period: {message.period}")
    if message.also:
        context.append("Also crossed: " + ", ".join(message.also))
    result.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in context]})
    if message.url:
        result.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.link_text},
                        "url": message.url,
                    }
                ],
            }
        )
    return result


def notify(channel: Channel, message: Message) -> None:
    # Retries are ours (bounded, recorded on the outbox row), not the client's.
    client = WebhookClient(channel.target, timeout=TIMEOUT, logger=_SILENT, retry_handlers=[])
    try:
        response = client.send(text=message.headline, blocks=blocks(message))
    except Exception as exc:  # urllib raises URLError, timeouts, connection resets
        raise TransientError(f"could not reach Slack ({type(exc).__name__})") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    body = (response.body or "")[:200]
    if status == 429:
        wait = retry_after(
            response.headers.get("Retry-After") or response.headers.get("retry-after")
        )
        raise TransientError(f"Slack answered 429 {body}".strip(), retry_after=wait)
    if status >= 500:
        raise TransientError(f"Slack answered {status} {body}".strip())
    # 404 no_service / 410 channel_is_archived / 403 action_prohibited / 400 invalid_payload:
    # the webhook is dead or refuses this message for good.
    raise PermanentError(f"Slack answered {status} {body}".strip())
