"""Limit/offset pages for every API list: {"count", "next", "previous", "results"}. A limit or
offset that is not a whole number in range is a 400 naming it, never silently the default."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

from .errors import bad_request

PAGE_DEFAULT = 100
PAGE_MAX = 1000


def _whole(request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise bad_request(f"{raw!r} is not a whole number {bound}", name)
    return value


class Pages(LimitOffsetPagination):
    default_limit = PAGE_DEFAULT
    max_limit = PAGE_MAX

    def get_limit(self, request) -> int:
        return _whole(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request) -> int:
        return _whole(request, self.offset_query_param, 0, 0, None)
