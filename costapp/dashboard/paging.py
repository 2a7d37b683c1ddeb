"""Pages of a table whose rows a read already returned (per-period tables, a few thousand rows
at most): the `page` parameter checked like every other, a page past the last a 400."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

from costapp.attribution.explorer import PAGE_ROWS, parse_page
from costapp.attribution.query import QueryError


def paginate(request, rows: list, field: str = "page", size: int | None = None) -> Page:
    number = parse_page(request.GET.get(field), field)
    paginator = Paginator(rows, size or PAGE_ROWS)
    if number > paginator.num_pages:
        raise QueryError(field, f"{number} is past the last page ({paginator.num_pages})")
    return paginator.page(number)
