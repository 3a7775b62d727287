"""``AlpacaFeed``: the real alpaca-py client against the local bars fake on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.calendar.timeframes import TIMEFRAMES
from bot.config import Secrets
from bot.data.alpaca_feed import AlpacaFeed
from bot.errors import ConfigError, DataError, TemporaryError
from bot.journal.store import open_journal

from fakes.alpaca_data import DataFakeServer
from testkit import NO_KEYS, SHARED_DATA, key_env, run_cli, write_config

DAY, MIN15, MINUTE = TIMEFRAMES["1Day"], TIMEFRAMES["15Min"], TIMEFRAMES["1Min"]
KEY, SECRET = "PKTESTKEY0001", "test-secret-0001"
TIMEOUT = 0.3


def walk(index: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """A valid bars frame on ``index`` (a random walk)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    open_ = close * (1 + rng.normal(0, 0.002, len(index)))
    spread = np.abs(rng.normal(0, 0.003, len(index))) * close
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(1_000, 100_000, len(index)).astype(float),
        },
        index=index,
    )
    frame.index.name = "ts"
    return frame


def daily(start: str, end: str, seed: int) -> pd.DataFrame:
    days = pd.bdate_range(start, end, tz="America/New_York").tz_convert("UTC")  # Alpaca: midnight NY
    return walk(days, seed)


def aapl_daily() -> pd.DataFrame:
    """The real AAPL daily bars of 2023 H1 when ../shared/data has them, else a synthetic frame."""
    folder = SHARED_DATA / "daily"
    if (folder / "AAPL.csv").exists():
        from bot.data.csv_feed import CsvFeed

        return CsvFeed(folder).history(["AAPL"], date(2023, 1, 3), date(2023, 6, 30), DAY)["AAPL"]
    return daily("2023-01-03", "2023-06-30", seed=1)


def quarter_hours(days: list[str], seed: int) -> pd.DataFrame:
    """15Min bars 08:00-19:45 New York (pre- and post-market included), a gap at 11:00-11:45."""
    stamps = [
        pd.Timestamp(f"{d} {h:02d}:{m:02d}", tz="America/New_York")
        for d in days
        for h in range(8, 20)
        for m in (0, 15, 30, 45)
        if h != 11
    ]
    return walk(pd.DatetimeIndex(stamps).tz_convert("UTC"), seed)


@pytest.fixture
def server():
    fake = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    yield fake
    fake.stop()


def make_feed(server: DataFakeServer, **kwargs) -> AlpacaFeed:
    options = (
        dict(
            api_key=KEY,
            secret_key=SECRET,
            data_url=server.url,
            timeout_seconds=TIMEOUT,
            max_retries=2,
            backoff_seconds=0.01,
        )
        | kwargs
    )
    return AlpacaFeed(**options)


def assert_same_bars(got: pd.DataFrame, served: pd.DataFrame) -> None:
    assert str(got.index.tz) == "UTC"
    pd.testing.assert_frame_equal(got, served.astype("float64"), check_freq=False, check_index_type=False)
    assert (got.index == served.index).all()


def test_daily_history_is_the_served_bars_across_pages_and_symbols(server):
    aapl, msft = aapl_daily(), daily("2023-01-03", "2023-06-30", seed=2)
    server.load("AAPL", "1Day", aapl)
    server.load("MSFT", "1Day", msft)
    server.page_size = 40  # ~250 bars: several pages, one of them holding both symbols
    frames = make_feed(server).history(["AAPL", "msft"], date(2023, 1, 3), date(2023, 6, 30), DAY)
    assert_same_bars(frames["AAPL"], aapl)
    assert_same_bars(frames["msft"], msft)
    assert frames["AAPL"].index[0] == pd.Timestamp("2023-01-03 05:00", tz="UTC")  # midnight New York
    pages = server.bar_requests()
    assert len(pages) == -(-(len(aapl) + len(msft)) // 40)
    assert "page_token" not in pages[0] and all(p["page_token"] for p in pages[1:])
    assert {p["timeframe"] for p in pages} == {"1Day"} and {p["feed"] for p in pages} == {"iex"}


def test_intraday_history_keeps_the_regular_session_and_gaps(server):
    bars = quarter_hours(["2024-03-11", "2024-03-12"], seed=3)
    server.load("SPY", "15Min", bars)
    server.page_size = 25
    got = make_feed(server).history(["SPY"], date(2024, 3, 11), date(2024, 3, 12), MIN15)["SPY"]
    local = bars.index.tz_convert("America/New_York")
    minute = local.hour * 60 + local.minute
    regular = bars[(minute >= 570) & (minute < 960)]
    assert_same_bars(got, regular)
    assert not any(t.tz_convert("America/New_York").hour == 11 for t in got.index)  # the gap stays a gap
    assert len(server.bar_requests()) > 3
    extended = make_feed(server, extended_hours=True).history(
        ["SPY"], date(2024, 3, 11), date(2024, 3, 12), MIN15
    )
    assert_same_bars(extended["SPY"], bars)


def test_a_symbol_without_bars_is_a_data_error_naming_it(server):
    server.load("AAPL", "1Day", daily("2023-01-03", "2023-01-31", seed=4))
    with pytest.raises(DataError, match=r"no ZZZZ bars between 2023-01-03 and 2023-01-31"):
        make_feed(server).history(["AAPL", "ZZZZ"], date(2023, 1, 3), date(2023, 1, 31), DAY)


def test_an_empty_range_is_a_data_error(server):
    server.load("AAPL", "1Day", daily("2023-01-03", "2023-01-31", seed=4))
    with pytest.raises(DataError, match=r"no AAPL bars between 2024-01-01 and 2024-01-31 from Alpaca"):
        make_feed(server).history(["AAPL"], date(2024, 1, 1), date(2024, 1, 31), DAY)


@pytest.mark.parametrize("status", [500, 504, 429])
def test_a_failed_request_is_retried_within_the_bound(server, status):
    bars = daily("2023-01-03", "2023-01-31", seed=5)
    server.load("AAPL", "1Day", bars)
    server.fail_next = [status]
    got = make_feed(server).history(["AAPL"], date(2023, 1, 3), date(2023, 1, 31), DAY)["AAPL"]
    assert_same_bars(got, bars)
    assert len(server.bar_requests()) == 2


def test_failures_beyond_the_bound_are_a_temporary_error(server):
    server.load("AAPL", "1Day", daily("2023-01-03", "2023-01-31", seed=5))
    server.fail_next = [500] * 10
    with pytest.raises(TemporaryError, match=r"Alpaca data request failed .*HTTP 500"):
        make_feed(server, max_retries=2).history(["AAPL"], date(2023, 1, 3), date(2023, 1, 31), DAY)
    assert len(server.bar_requests()) == 3


def test_a_hanging_server_is_abandoned_with_a_clear_error(server):
    server.load("AAPL", "1Day", daily("2023-01-03", "2023-01-31", seed=5))
    server.delay = 30
    started = time.monotonic()
    with pytest.raises(TemporaryError, match=r"timed out .* 2 attempt\(s\) of 0.3 s"):
        make_feed(server, max_retries=1).history(["AAPL"], date(2023, 1, 3), date(2023, 1, 31), DAY)
    assert time.monotonic() - started < 3 * 2 * TIMEOUT + 1  # two attempts, each cut at the timeout


def test_refused_keys_are_a_config_error(server):
    feed = make_feed(server, secret_key="wrong")
    with pytest.raises(ConfigError, match=r"Alpaca refused the API keys \(HTTP 401"):
        feed.history(["AAPL"], date(2023, 1, 3), date(2023, 1, 31), DAY)


def test_missing_keys_are_a_config_error_naming_the_variables():
    from bot.config import Config

    with pytest.raises(ConfigError, match=r"ALPACA_API_KEY and ALPACA_SECRET_KEY .*APCA_API_KEY_ID"):
        AlpacaFeed.from_config(Config(), secrets=Secrets())


def test_the_journal_cache_serves_a_repeated_request_without_http(server, tmp_path: Path):
    bars = daily("2023-01-03", "2023-06-30", seed=6)
    server.load("AAPL", "1Day", bars)
    with open_journal(tmp_path / "journal.sqlite") as journal:
        feed = make_feed(server, journal=journal)
        first = feed.history(["AAPL"], date(2023, 1, 3), date(2023, 6, 30), DAY)["AAPL"]
        sent = len(server.requests)
        again = feed.history(["AAPL"], date(2023, 1, 3), date(2023, 6, 30), DAY)["AAPL"]
        inside = feed.history(["AAPL"], date(2023, 2, 1), date(2023, 2, 28), DAY)["AAPL"]
        assert len(server.requests) == sent  # both served by the journal
        pd.testing.assert_frame_equal(first, again)
        assert_same_bars(again, bars)
        assert_same_bars(inside, bars.loc["2023-02-01":"2023-02-28 23:00"])
        feed.history(["AAPL"], date(2023, 1, 3), date(2023, 7, 31), DAY)  # beyond the cached span
        assert len(server.requests) == sent + 1
    with open_journal(tmp_path / "journal.sqlite") as journal:  # survives a restart
        reopened = make_feed(server, journal=journal).history(
            ["AAPL"], date(2023, 1, 3), date(2023, 6, 30), DAY
        )
        assert len(server.requests) == sent + 1
        pd.testing.assert_frame_equal(reopened["AAPL"], first)


def test_latest_minute_bars(server):
    minutes = walk(pd.date_range("2024-03-11 14:30", periods=5, freq="1min", tz="UTC"), seed=7)
    server.load("AAPL", "1Min", minutes)
    got = make_feed(server).latest(["AAPL", "ZZZZ"], MINUTE)
    assert list(got) == ["AAPL"]  # no data: left out
    assert_same_bars(got["AAPL"], minutes.iloc[-1:])


def cli_config(tmp_path: Path, server: DataFakeServer) -> Path:
    return write_config(
        tmp_path,
        f"""
[alpaca]
data_url = "{server.url}"
timeout_seconds = 2.0
max_retries = 1
backoff_seconds = 0.01
""",
    )


def test_cli_simulates_on_alpaca_bars(server, tmp_path: Path):
    bars = aapl_daily()
    server.load("AAPL", "1Day", bars)
    result = run_cli(
        "simulate",
        "--config",
        str(cli_config(tmp_path, server)),
        "--source",
        "alpaca",
        "--symbols",
        "AAPL",
        "--start",
        "2023-01-03",
        "--end",
        "2023-06-30",
        "--strategy",
        "sma_cross",
        "--json",
        env=key_env(KEY, SECRET),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["source"] == "alpaca" and summary["synthetic"] is False
    assert summary["bars"] == len(bars)


def test_cli_without_keys_exits_2_naming_the_variables(server, tmp_path: Path):
    result = run_cli(
        "simulate",
        "--config",
        str(cli_config(tmp_path, server)),
        "--source",
        "alpaca",
        "--symbols",
        "AAPL",
        "--start",
        "2023-01-03",
        "--end",
        "2023-06-30",
        env=NO_KEYS,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ALPACA_API_KEY" in lines[0] and "ALPACA_SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr
    assert server.requests == []


def test_recent_sip_data_on_a_free_plan_is_its_own_error_naming_alpaca_feed(server):
    """Not "refused keys": the keys work, the plan does not cover the last 15 minutes of SIP."""
    assert server.free_plan
    today = pd.Timestamp.now(tz="UTC").normalize()
    server.load("AAPL", "1Day", walk(pd.DatetimeIndex([today - pd.Timedelta(days=1)], name="ts"), seed=2))
    with pytest.raises(
        ConfigError, match=r"^alpaca\.feed: your Alpaca plan does not allow recent SIP data"
    ) as err:
        make_feed(server, feed="sip").history(
            ["AAPL"], today.date() - pd.Timedelta(days=5), today.date(), DAY
        )
    assert "subscription does not permit querying recent SIP data" in str(err.value)
    assert "API keys" not in str(err.value)
    got = make_feed(server, feed="iex").history(
        ["AAPL"], today.date() - pd.Timedelta(days=5), today.date(), DAY
    )
    assert len(got["AAPL"]) == 1  # the free IEX feed answers the same request
