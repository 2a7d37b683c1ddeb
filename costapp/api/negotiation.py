"""Content negotiation for endpoints that answer JSON only, whatever the client accepts: the
API answered JSON before it was on DRF, and an odd Accept header must not turn that into 406."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class JsonOnly(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
