"""/profile/: a user's own API tokens: list, create (the token shown once), revoke.

A new token is shown in the body of the POST's answer and nowhere else: not in a redirect's
URL, a `messages` message (a cookie or the session) nor a cache (Cache-Control: no-store).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import tokens


def _page(request, *, issued: tokens.IssuedToken | None = None, error: str = "", status=200):
    context = {
        "tokens": tokens.tokens_of(request.user),
        "issued": issued,
        "error": error,
        "name_max": tokens.NAME_MAX,
    }
    return render(request, "api/profile.html", context, status=status)


@login_required
@never_cache
@require_GET
def profile(request):
    return _page(request)


@login_required
@never_cache
@require_POST
def create_token(request):
    try:
        issued = tokens.issue(request.user, request.POST.get("name"))
    except tokens.TokenError as error:
        return _page(request, error=error.message, status=400)
    return _page(request, issued=issued)


@login_required
@require_POST
def revoke_token(request, token_id: int):
    if not tokens.revoke(request.user, token_id):
        raise Http404("no such token")
    return redirect("profile:page")


app_name = "profile"
urlpatterns = [
    path("", profile, name="page"),
    path("tokens/", create_token, name="create-token"),
    path("tokens/<int:token_id>/revoke", revoke_token, name="revoke-token"),
]
