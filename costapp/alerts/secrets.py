"""Channel secrets (a webhook URL, an address list, an HMAC key): encrypted at rest, masked
everywhere they are shown, and scrubbed from every error text we store or log.

The key is derived from ALERTS_ENCRYPTION_KEY when set, else from SECRET_KEY (Fernet:
AES-128-CBC + HMAC-SHA256). Rotating that key makes stored targets unreadable: such a channel
fails permanently with a message asking for its target again, never with the ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import os
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

MASK = "***"


class SecretUnreadable(Exception):
    """The stored value was encrypted with another key."""


def _fernet() -> Fernet:
    material = os.environ.get("ALERTS_ENCRYPTION_KEY") or settings.SECRET_KEY
    # A purpose prefix keeps this key apart from every other use of SECRET_KEY.
    digest = hashlib.sha256(b"inference-ledger/alerts/channel-secrets\0" + material.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "the stored target cannot be decrypted (the encryption key changed): enter it again"
        ) from exc


def mask_url(url: str) -> str:
    """Scheme and host only: the path of a Slack or webhook URL is the credential."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return MASK
    return f"{parts.scheme}://{parts.hostname}/{MASK}"


def mask_addresses(addresses: str) -> str:
    """a***@example.com for each address: enough to recognise, not to harvest."""
    masked = []
    for address in (a.strip() for a in addresses.split(",")):
        if not address:
            continue
        local, _, domain = address.rpartition("@")
        masked.append(f"{local[:1]}{MASK}@{domain}" if local else MASK)
    return ", ".join(masked)


def scrub(text: str, *secrets: str) -> str:
    """`text` with each secret, and each URL secret's path, replaced by the mask: library
    errors quote the URL they failed on (requests' "Max retries exceeded with url: /T0/B0/xyz")."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, MASK)
        path = urlsplit(secret).path
        if len(path) > 1:
            text = text.replace(path, "/" + MASK)
    return text
