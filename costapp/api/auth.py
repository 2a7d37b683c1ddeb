"""How API callers authenticate: `Authorization: Bearer <token>` (costapp.api.tokens), or the
dashboard's session (with CSRF on writes) for a browser that is logged in already."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import tokens

REALM = 'Bearer realm="inference-ledger"'


def bearer(request) -> str:
    """The token of an `Authorization: Bearer <token>` header, or ""."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        secret = bearer(request)
        if not secret:
            return None  # no token: another authentication (the session) may apply
        token = tokens.authenticate(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API token")
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Answering 401 (not 403) to an unauthenticated call needs a WWW-Authenticate value.
        return REALM


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "costapp.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from your profile page or `manage.py api_token USERNAME`.",
        }
