"""A generic webhook: the message as a JSON body, POSTed with an HMAC-SHA256 signature of the
exact body bytes under the channel's secret:

    X-Inference-Ledger-Signature: sha256=<hex HMAC-SHA256(secret, body)>

The body's `delivery_id` is the same on every retry of one delivery, so a receiver can drop a
repeat. Redirects are not followed (a redirect to another host would carry the message away).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from .. import TIMEOUT, PermanentError, TransientError, retry_after

if TYPE_CHECKING:
    from ...message import Message
    from ...models import Channel

SIGNATURE_HEADER = "X-Inference-Ledger-Signature"
# 408 Request Timeout, 425 Too Early, 429 Too Many Requests: the receiver may accept later.
_RETRYABLE_4XX = {408, 425, 429}


def validate(target: str) -> str | None:
    parts = urlsplit(target.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not a URL (expected https://host/path)"
    return None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notify(channel: Channel, message: Message) -> None:
    body = json.dumps(message.as_json(), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "inference-ledger-alerts",
        SIGNATURE_HEADER: sign(channel.secret, body),
    }
    try:
        response = requests.post(
            channel.target, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise TransientError(f"could not reach the webhook ({type(exc).__name__})") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    text = f"the webhook answered {status}"
    if status >= 500 or status in _RETRYABLE_4XX:
        raise TransientError(text, retry_after=retry_after(response.headers.get("Retry-After")))
    raise PermanentError(text)
