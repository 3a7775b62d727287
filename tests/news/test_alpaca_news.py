"""AlpacaNewsSource: the real alpaca-py NewsClient against the local Alpaca-compatible fake."""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from bot.config import AlpacaConfig, Config, NewsConfig, Secrets
from bot.errors import ConfigError
from bot.logging import LOG_FILE_NAME, REDACTED, configure_logging
from bot.news.alpaca_news import AlpacaNewsSource
from bot.news.live import build_live_sources
from bot.news.symbols import SymbolMatcher

from fakes.alpaca_news_server import AlpacaFakeServer, news_item
from newskit import FIXED_NOW, MutableClock, StubScorer, warnings_of

SYMBOLS = ["AAPL", "MSFT"]


def make_source(
    server: AlpacaFakeServer,
    *,
    key: str | None = None,
    secret: str | None = None,
    timeout: float = 0.5,
    clock=None,
    **kwargs,
) -> AlpacaNewsSource:
    return AlpacaNewsSource(
        data_url=server.url,
        api_key=key or server.key_id,
        secret_key=secret or server.secret_key,
        symbols=SYMBOLS,
        matcher=SymbolMatcher(SYMBOLS, {"MSFT": ["Microsoft"]}),
        scorer=StubScorer(),
        timeout_seconds=timeout,
        clock=clock or MutableClock(),
        retry_wait_seconds=0.01,
        **kwargs,
    )


def ago(hours: float):
    return FIXED_NOW - timedelta(hours=hours)


def test_news_are_parsed_and_mapped(alpaca_server):
    alpaca_server.news = [
        news_item(
            101,
            "Apple &amp; Tesla shares <b>jump</b>",
            ago(3),
            symbols=["AAPL", "TSLA"],
            summary="<p>Both   rallied.</p>",
            url="https://example.com/benzinga/a/101",
        ),
        news_item(102, "Apple to work with Microsoft on AI", ago(2), symbols=["AAPL"], url=""),
        news_item(103, "Ford cuts prices", ago(1), symbols=["F"]),  # none of ours: the server filters it
        news_item(104, "Too old to matter", ago(30), symbols=["AAPL"]),  # before the first lookback
    ]
    source = make_source(alpaca_server)
    got = source.fetch()
    assert [(h.guid, h.title, h.symbols) for h in got] == [
        ("101", "Apple & Tesla shares jump", ("AAPL",)),  # TSLA is not ours
        ("102", "Apple to work with Microsoft on AI", ("AAPL", "MSFT")),  # MSFT from the name
    ]
    first = got[0]
    assert first.source == "alpaca" and first.link == "https://example.com/benzinga/a/101"
    assert first.summary == "Both rallied."
    assert first.published_at == ago(3) and not first.published_estimated and first.fetched_at == FIXED_NOW
    assert (first.score, first.label, first.scorer_version) == (0.5, "positive", "stub-1")
    assert got[1].link == ""
    method, path, query = alpaca_server.requests[-1]
    assert (method, path) == ("GET", "/v1beta1/news")
    assert query["symbols"] == "AAPL,MSFT" and query["sort"] == "desc" and query["limit"] == "50"
    assert query["start"].startswith(ago(24).isoformat()[:19]) and "end" not in query
    assert source.last_report.attempted == 1 and source.last_report.failed == 0


def test_later_fetches_ask_from_the_newest_item_less_the_overlap_and_return_only_new(alpaca_server):
    alpaca_server.news = [news_item(1, "Apple rises", ago(3), symbols=["AAPL"])]
    clock = MutableClock()
    source = make_source(alpaca_server, clock=clock, overlap=timedelta(minutes=10))
    assert len(source.fetch()) == 1
    clock.now += timedelta(minutes=5)
    assert source.fetch() == []
    overlap_start = ago(3) - timedelta(minutes=10)
    assert alpaca_server.requests[-1][2]["start"].startswith(overlap_start.isoformat()[:19])
    alpaca_server.news.append(news_item(2, "Microsoft slips", ago(0.5), symbols=["MSFT"]))
    alpaca_server.news.append(news_item(3, "APPLE RISES", ago(0.4), symbols=["AAPL"]))  # same story again
    assert [h.guid for h in source.fetch()] == ["2"]


def test_bad_keys_are_logged_and_survived(alpaca_server):
    source = make_source(alpaca_server, key="PKWRONGKEY999", secret="wrong-secret-999")
    with capture_logs() as logs:
        assert source.fetch() == []
    (warning,) = warnings_of(logs, "alpaca_news_failed")
    assert warning["reason"].startswith("HTTP 401")
    assert source.last_report.all_failed


def test_a_slow_server_times_out(alpaca_server):
    alpaca_server.news = [news_item(1, "Apple rises", ago(1), symbols=["AAPL"])]
    alpaca_server.delay = 3.0
    source = make_source(alpaca_server, timeout=0.3)
    started = time.monotonic()
    with capture_logs() as logs:
        assert source.fetch() == []
    assert time.monotonic() - started < 2.5  # the timeout, not the server, decided
    (warning,) = warnings_of(logs, "alpaca_news_failed")
    assert "timed out" in warning["reason"].lower()


def test_server_errors_are_logged_and_429_is_retried_a_bounded_number_of_times(alpaca_server):
    alpaca_server.news = [news_item(1, "Apple rises", ago(1), symbols=["AAPL"])]
    source = make_source(alpaca_server, retry_attempts=1)
    alpaca_server.fail_next = [500]
    with capture_logs() as logs:
        assert source.fetch() == []
    assert warnings_of(logs, "alpaca_news_failed")[0]["reason"].startswith("HTTP 500")
    before = len(alpaca_server.requests)
    alpaca_server.fail_next = [429]  # one retry is enough
    assert [h.guid for h in source.fetch()] == ["1"]
    assert len(alpaca_server.requests) - before == 2
    before = len(alpaca_server.requests)
    alpaca_server.fail_next = [429, 429, 429, 429]
    with capture_logs() as logs:
        assert source.fetch() == []
    assert len(alpaca_server.requests) - before == 2  # asked once, retried once, then gave up
    assert warnings_of(logs, "alpaca_news_failed")[0]["reason"].startswith("HTTP 429")


def test_missing_keys_are_a_config_error_only_when_alpaca_news_is_on():
    on = Config(news=NewsConfig(alpaca=True))
    with pytest.raises(ConfigError, match="ALPACA_API_KEY"):
        build_live_sources(on, StubScorer(), secrets=Secrets())
    with pytest.raises(ConfigError):
        AlpacaNewsSource.from_config(on, SYMBOLS, StubScorer(), secrets=Secrets(alpaca_key="PKONLYKEY"))
    assert build_live_sources(Config(), StubScorer(), secrets=Secrets()) == []


def test_keys_never_reach_the_log(alpaca_server, tmp_path, monkeypatch, capsys):
    key, secret = alpaca_server.key_id, alpaca_server.secret_key
    monkeypatch.setenv("APCA_API_KEY_ID", key)
    monkeypatch.setenv("APCA_API_SECRET_KEY", secret)
    alpaca_server.news = [news_item(1, "Apple rises", ago(1), symbols=["AAPL"])]
    config = dataclasses.replace(
        Config(), news=NewsConfig(alpaca=True), alpaca=AlpacaConfig(data_url=alpaca_server.url)
    )

    def fetch_good_and_bad() -> None:
        (good,) = build_live_sources(config, StubScorer(), symbols=SYMBOLS, clock=MutableClock())
        assert len(good.fetch()) == 1
        assert make_source(alpaca_server, key=key, secret="another-secret-value").fetch() == []

    with capture_logs() as events:  # what our code hands to the logger, before any redaction
        fetch_good_and_bad()
    assert "alpaca_news_failed" in [e["event"] for e in events]
    assert not [e for e in events if key in repr(e) or secret in repr(e)]

    configure_logging(tmp_path, level="debug")  # the real handlers, urllib3's debug lines included
    try:
        fetch_good_and_bad()
    finally:
        logging.getLogger().handlers.clear()
    text = (tmp_path / LOG_FILE_NAME).read_text()
    console = capsys.readouterr()
    assert "alpaca_news_failed" in text and "alpaca_news_failed" in console.err
    for value in (key, secret, "another-secret-value"):
        assert value not in text and value not in console.err and value not in console.out
    assert REDACTED not in text  # nothing even tried to log a key: redaction had nothing to hide
