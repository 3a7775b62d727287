"""Opt-in smoke test against the REAL Alpaca paper API. Never part of CI: it runs only when
ALPACA_SMOKE=1 and paper keys are in the environment, and it places no order."""

import os

import pytest

from bot.config import Config, secrets_from_env

pytestmark = pytest.mark.skipif(
    os.environ.get("ALPACA_SMOKE") != "1" or os.environ.get("CI") or not secrets_from_env().alpaca_key,
    reason="opt-in: set ALPACA_SMOKE=1 and ALPACA_API_KEY/ALPACA_SECRET_KEY (paper) to run; never in CI",
)


def test_paper_account_clock_and_latest_bar_answer():
    from bot.broker.alpaca import AlpacaBroker
    from bot.calendar.timeframes import parse_timeframe
    from bot.data.alpaca_feed import AlpacaFeed

    config = Config()
    broker = AlpacaBroker(config.alpaca, secrets_from_env())
    account = broker.account()
    assert account.equity >= 0
    assert broker.clock() is not None
    feed = AlpacaFeed.from_config(config)
    assert "SPY" in feed.latest(["SPY"], parse_timeframe("1Min"))
