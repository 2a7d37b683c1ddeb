"""Email through Django's mail backend (SMTP, configured by EMAIL_URL): subject, plain text and
HTML rendered from templates/alerts/email/."""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string

from .. import TIMEOUT, PermanentError, TransientError

if TYPE_CHECKING:
    from ...message import Message
    from ...models import Channel

MAX_ADDRESSES = 50


def addresses(target: str) -> list[str]:
    return [a.strip() for a in target.split(",") if a.strip()]


def validate(target: str) -> str | None:
    found = addresses(target)
    if not found:
        return "no address given (expected one or more email addresses, separated by commas)"
    if len(found) > MAX_ADDRESSES:
        return f"{len(found)} addresses (expected at most {MAX_ADDRESSES})"
    for index, address in enumerate(found, 1):
        try:
            validate_email(address)
        except ValidationError:
            return f"address {index} is not an email address (expected name@example.com)"
    return None


def render(message: Message) -> tuple[str, str, str]:
    context = {"m": message, "f": message.formatted()}
    subject = " ".join(render_to_string("alerts/email/subject.txt", context).split())
    text = render_to_string("alerts/email/body.txt", context)
    html = render_to_string("alerts/email/body.html", context)
    return subject, text, html


def _code_class(code: int) -> str:
    return "permanent" if 500 <= code < 600 else "transient"


def notify(channel: Channel, message: Message) -> None:
    subject, text, html = render(message)
    mail = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        addresses(channel.target),
        connection=get_connection(timeout=TIMEOUT),
    )
    mail.attach_alternative(html, "text/html")
    try:
        mail.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        text = f"the mail server refused {len(codes)} recipient(s) (SMTP {sorted(set(codes))})"
        # A 5xx for an address is the server's final answer; a 4xx (greylisting) is not.
        if all(500 <= code < 600 for code in codes):
            raise PermanentError(text) from None
        raise TransientError(text) from None
    except smtplib.SMTPResponseException as exc:
        # Sender refused or data refused: the whole server said no. A 5xx about the sender is
        # our configuration, not this channel's, so it is retried (bounded) too; only a 5xx
        # answer to the message itself is final.
        text = f"the mail server answered SMTP {exc.smtp_code}"
        if isinstance(exc, smtplib.SMTPDataError) and _code_class(exc.smtp_code) == "permanent":
            raise PermanentError(text) from None
        raise TransientError(text) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientError(f"could not reach the mail server ({type(exc).__name__})") from None
