"""Login throttling (django-axes): which logins count, whose address they come from, the notice.

Settings name the limits (AXES_* in costapp/settings.py); this module only adapts axes to how
the app is reached: the login forms and the admin always authenticate with a request, while a
shell, a management command or the test client's login() authenticate without one.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses every login of a locked-out (username, address); counts nothing without a request.

    axes raises when authenticate() is called without a request, to catch login paths it cannot
    see. Every login over the web here goes through Django's LoginView or the admin, which pass
    the request; a call without one comes from a process that already holds the database, so it
    is left to the next backend rather than refused.
    """

    def authenticate(self, request: HttpRequest | None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """The address a login came from: behind our proxy, the one it appended to X-Forwarded-For.

    Only the right-most entry is the proxy's own observation; anything left of it was sent by
    the client and could name any address, which would let an attacker spread guesses over
    invented addresses.
    """
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """The login page's lockout notice (429): who is locked out, for how long, what to do."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
        "login_url": reverse("admin:login" if request.path.startswith("/admin/") else "login"),
    }
    return render(request, "registration/locked_out.html", context, status=429)
