"""Plain helpers of the news tests (fixtures are in conftest.py): fixed times and small items."""

from __future__ import annotations

from datetime import UTC, datetime

from fakes.feed_docs import Item

BBC_CSV = ("news", "bbc_business_rss_items.csv")
FIXED_NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)  # after every BBC item (2022..2024)

# A few hand-written items: the tests that must run without ../shared/data use these.
SMALL_ITEMS = [
    Item(title="Apple shares rise after record quarter", link="https://example.com/news/apple-record",
         guid="small-1", pub_date="Tue, 02 Jan 2024 14:30:00 GMT",
         description="The iPhone maker beat estimates."),
    Item(title="Microsoft cuts cloud prices", link="https://example.com/news/msft-cloud", guid="small-2",
         pub_date="Wed, 03 Jan 2024 09:00:00 GMT", description="Azure gets cheaper."),
    Item(title="Oil slides as demand fears grow", link="https://example.com/news/oil", guid="small-3",
         pub_date="Thu, 04 Jan 2024 18:45:10 GMT", description="Brent fell 3%."),
]  # fmt: skip


class MutableClock:
    """A clock tests move by hand: backoff without sleeping."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
