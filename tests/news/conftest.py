"""Fixtures for the news tests: the local feed server, the Alpaca news fake, real BBC items.

Plain helpers live in newskit.py (this folder) and tests/testkit.py (shared).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.alpaca_news_server import AlpacaFakeServer
from fakes.feed_docs import Item, bbc_items
from fakes.feed_server import FeedServer
from newskit import BBC_CSV, FIXED_NOW, SMALL_ITEMS, MutableClock  # noqa: F401
from testkit import REPO, SHARED_DATA, require_shared_data, run_cli, write_config  # noqa: F401


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def alpaca_server() -> Iterator[AlpacaFakeServer]:
    server = AlpacaFakeServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bbc() -> Path:
    """The real BBC business RSS items (the test skips when ../shared/data is absent)."""
    return require_shared_data(*BBC_CSV)


@pytest.fixture
def bbc_rows(bbc: Path) -> list[Item]:
    return bbc_items(bbc, 40)
