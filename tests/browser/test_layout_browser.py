"""Page layout: at a laptop's width every column of every card is in view; on a phone a wide
table scrolls inside its card instead of spilling out of it."""

from __future__ import annotations

import pytest

from costapp.ingest.models import IngestionRun, RunStatus
from costapp.sources.models import Source
from tests.dashboard.builders import allocation, finance_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Boxes in cards (the card too) holding more than their width, except the ones allowed to
# scroll. Text hidden on purpose for screen readers (.visually-hidden) is meant to clip.
HIDDEN_PARTS = """
(scrollingAllowed) => {
  const hidden = [];
  for (const card of document.querySelectorAll(".card")) {
    const title = card.querySelector("h2")?.textContent.trim();
    for (const box of [card, ...card.querySelectorAll("*")]) {
      if (!(box instanceof HTMLElement) || box.closest(".visually-hidden")) continue;
      const overflow = getComputedStyle(box).overflowX;
      if (scrollingAllowed && (overflow === "auto" || overflow === "scroll")) continue;
      if (box.scrollWidth > box.clientWidth) {
        const name = box.id ? `#${box.id}` : `${box.tagName.toLowerCase()}.${box.className}`;
        hidden.push(`${title}: ${name} holds ${box.scrollWidth}px in ${box.clientWidth}px`);
      }
    }
  }
  return hidden;
}
"""


def _failing_source() -> None:
    """A source whose last run stored rows and whose newer one failed with a long error."""
    source = Source.objects.create(
        name="aws-cur2-prod", format="cur2", location_kind="s3",
        location="s3://billing-exports-with-a-long-bucket-name/cur2/prod/data/BILLING_PERIOD=2026-10",
    )  # fmt: skip
    IngestionRun.objects.create(
        source=source, format="cur2", location=source.location, status=RunStatus.SUCCEEDED,
        rows_read=12_345_678, rows_stored=12_345_678, bytes_read=987_654_321, duration_ms=123_456,
    )  # fmt: skip
    IngestionRun.objects.create(
        source=source, format="cur2", location=source.location, status=RunStatus.FAILED,
        error="s3://billing-exports-with-a-long-bucket-name/cur2/prod/data/part-00001.parquet,"
        " line 81234, column line_item_unblended_cost: 'n/a' is not a decimal (expected a"
        " number such as 12.3400000000) " * 2,
    )  # fmt: skip


def test_cards_show_every_column_at_1280px_and_scroll_on_a_phone(fortnight, logged_in, visit):
    finance_user("finance")
    _failing_source()
    # A second currency brings the currency switch into the controls.
    allocation("2026-10-05T10:00", team="search", model="m", endpoint="/search/chat",
               amortized="12.5", currency="EUR")  # fmt: skip
    page = logged_in("finance")
    # The unit page's widest tables: an hour column, model names and the idle-share column;
    # the sources page with long locations, counts and errors.
    for path in ("/", "/units/?by=model&grain=hour&idle=share", "/sources/"):
        # At 1280px nothing may need scrolling either: a table scrolled by a few pixels shows
        # its last column cut at the card's edge, and overlay scrollbars (macOS, headless
        # Chromium) draw no bar to say there is more. On a phone, scrolling in the card is fine.
        for width, scrolling_allowed in ((1280, False), (390, True)):
            page.set_viewport_size({"width": width, "height": 900})
            visit(page, path)
            assert page.evaluate(HIDDEN_PARTS, scrolling_allowed) == [], f"{path} at {width}px"
            if path != "/sources/":
                assert page.locator("#currency-toggle").is_visible()
