"""The broker tests' shared fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.alpaca_trading import TradingFakeServer


@pytest.fixture
def server() -> Iterator[TradingFakeServer]:
    """A strict fake paper account, AAPL last traded at 100."""
    s = TradingFakeServer().start()
    s.set_price("AAPL", 100.0)
    try:
        yield s
    finally:
        s.stop()
