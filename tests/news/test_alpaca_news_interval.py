"""AlpacaNewsSource's reading interval against the fake's real paging: sort by updated time, keyset
page tokens, ``start``/``end`` on either timestamp. Every article must come out exactly once."""

from __future__ import annotations

import base64
from collections import Counter
from datetime import datetime, timedelta

import pytest
import requests
from structlog.testing import capture_logs

from bot.news.alpaca_news import AlpacaNewsSource
from bot.news.symbols import SymbolMatcher

from fakes.alpaca_news_server import AlpacaFakeServer, news_item
from newskit import FIXED_NOW, MutableClock, StubScorer, warnings_of

SYMBOLS = ["AAPL", "MSFT"]


@pytest.fixture(params=["created_at", "updated_at"])
def server(request: pytest.FixtureRequest, alpaca_server: AlpacaFakeServer) -> AlpacaFakeServer:
    """The fake under both readings of Alpaca's ``start``/``end``."""
    alpaca_server.news_window_field = request.param
    return alpaca_server


def make_source(server: AlpacaFakeServer, clock: MutableClock, **kwargs) -> AlpacaNewsSource:
    return AlpacaNewsSource(
        data_url=server.url,
        api_key=server.key_id,
        secret_key=server.secret_key,
        symbols=SYMBOLS,
        matcher=SymbolMatcher(SYMBOLS, {}),
        scorer=StubScorer(),
        timeout_seconds=2.0,
        clock=clock,
        retry_wait_seconds=0.01,
        **kwargs,
    )


def ago(minutes: float) -> datetime:
    return FIXED_NOW - timedelta(minutes=minutes)


def article(id: int, created: datetime, updated: datetime | None = None) -> dict:
    return news_item(id, f"Apple story number {id}", created, symbols=["AAPL"], updated_at=updated)


def test_a_backlog_of_several_pages_sorted_by_update_time_comes_out_once_each(server):
    # 130 articles over the last 20 hours; every 9th was updated in the last half hour, so sorting by
    # updated time puts old creations among the newest (and the fetch is cut off at 100)
    news = []
    for i in range(1, 131):
        created = ago(1200 - 9 * i)
        news.append(article(i, created, ago(30 - i / 10) if i % 9 == 0 else created + timedelta(seconds=1)))
    news.append(article(500, ago(23 * 60), ago(1)))  # created just inside the lookback, updated a minute ago
    server.news = list(news)
    clock = MutableClock()
    source = make_source(server, clock, limit=100, max_requests=3)

    with capture_logs() as logs:
        first = source.fetch()
    assert len(first) == 100 and len(server.requests) == 2  # two pages of 50, the second by page token
    assert "page_token" in server.requests[1][2]
    (cut,) = warnings_of(logs, "alpaca_news_truncated")
    assert cut["limit"] == 100

    clock.now += timedelta(minutes=1)  # a fresh article arrives while the backlog is walked
    server.news.append(article(900, clock.now - timedelta(seconds=20)))
    delivered = first + source.fetch() + source.fetch()
    counts = Counter(int(h.guid) for h in delivered)
    assert set(counts) == {a["id"] for a in server.news} and max(counts.values()) == 1

    assert source.fetch() == []  # and again: nothing new, from a window just before the newest
    start = server.requests[-1][2]["start"]
    assert start >= (clock.now - timedelta(minutes=15)).isoformat()[:19]
    assert "end" not in server.requests[-1][2]


def test_an_article_created_before_the_cursor_that_shows_up_late_comes_out_once(server):
    server.news = [article(1, ago(60)), article(2, ago(30))]
    clock = MutableClock()
    source = make_source(server, clock, overlap=timedelta(minutes=10))
    assert [h.guid for h in source.fetch()] == ["1", "2"]  # oldest first

    clock.now += timedelta(minutes=2)
    server.news.append(article(3, ago(34)))  # created before article 2, indexed only now
    assert [h.guid for h in source.fetch()] == ["3"]
    assert source.fetch() == []
    clock.now += timedelta(minutes=2)
    assert source.fetch() == []


def test_a_walk_that_cannot_move_gives_the_rest_up_with_a_warning(alpaca_server):
    same = ago(30)
    alpaca_server.news = [article(i, same) for i in range(1, 6)]  # five articles at one instant
    source = make_source(alpaca_server, MutableClock(), limit=3)
    assert len(source.fetch()) == 3
    with capture_logs() as logs:
        assert source.fetch() == []  # the same three again: [start, instant] cannot shrink
    (skipped,) = warnings_of(logs, "alpaca_news_skipped")
    assert skipped["skipped_until"].startswith(same.isoformat()[:19])
    alpaca_server.news.append(article(9, ago(1)))
    assert [h.guid for h in source.fetch()] == ["9"]  # and it moves on instead of asking for ever


def test_limit_must_fit_in_the_request_cap(alpaca_server):
    with pytest.raises(ValueError, match="max_requests"):
        make_source(alpaca_server, MutableClock(), limit=101, max_requests=2)


def get(server: AlpacaFakeServer, **params: str) -> dict:
    headers = {"APCA-API-KEY-ID": server.key_id, "APCA-API-SECRET-KEY": server.secret_key}
    response = requests.get(f"{server.url}/v1beta1/news", params=params, headers=headers, timeout=2)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_fake_sorts_and_pages_like_alpaca(alpaca_server):
    # 12 articles; article 1 is the oldest but was updated last
    alpaca_server.news = [article(i, ago(100 - i)) for i in range(2, 14)] + [article(1, ago(200), ago(0))]
    page = get(alpaca_server)  # Alpaca's defaults: 10 articles, newest updated first
    assert [a["id"] for a in page["news"]] == [1, 13, 12, 11, 10, 9, 8, 7, 6, 5]
    ns, id = base64.b64decode(page["next_page_token"]).decode().split("|")  # as Alpaca's documented token
    assert (int(ns), int(id)) == (int(ago(95).timestamp()) * 10**9, 5)
    alpaca_server.news.append(article(50, ago(150)))  # arrives between pages: keyset paging is not shifted
    rest = get(alpaca_server, page_token=page["next_page_token"])
    assert [a["id"] for a in rest["news"]] == [4, 3, 2, 50] and rest["next_page_token"] is None

    window = {"start": ago(210).isoformat(), "end": ago(120).isoformat(), "sort": "asc"}
    assert [a["id"] for a in get(alpaca_server, **window)["news"]] == [50, 1]  # created in the window
    alpaca_server.news_window_field = "updated_at"
    assert [a["id"] for a in get(alpaca_server, **window)["news"]] == [50]  # article 1 was updated since
