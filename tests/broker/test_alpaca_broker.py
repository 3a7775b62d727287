"""The hard cases of AlpacaBroker, with the real alpaca-py client against the local fake."""

from __future__ import annotations

import logging
import time

import pytest
import structlog

from bot.broker.alpaca import AlpacaBroker
from bot.broker.base import OrderRequest, OrderStatus, OrderType, Side
from bot.config import AlpacaConfig, Secrets, secrets_from_env
from bot.errors import ConfigError, TemporaryError

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker
from testkit import wait_for

TIMEOUT = 0.3


def order(cid: str, qty: int = 10, **kw) -> OrderRequest:
    return OrderRequest(cid, "AAPL", Side.BUY, qty, **kw)


def posts(server: TradingFakeServer) -> int:
    return sum(1 for m, p, _ in server.requests if (m, p) == ("POST", "/v2/orders"))


@pytest.mark.parametrize("kind", [504, 500, "hang", "reset"])
def test_failure_after_the_order_landed_gives_exactly_one_order(server: TradingFakeServer, kind) -> None:
    sleeps: list[float] = []
    broker = alpaca_broker(server, sleeps)
    server.inject("POST", "/v2/orders", kind, after=True)  # created, then the answer is lost
    result = broker.submit(order("trap-1"))
    assert result.status in (OrderStatus.NEW, OrderStatus.FILLED) and result.broker_order_id
    assert len(server.orders_with_client_id("trap-1")) == 1
    assert posts(server) == 1  # the lookup found it: nothing was resent
    assert len(sleeps) == 1


def test_failure_before_the_order_landed_is_resent_once(server: TradingFakeServer) -> None:
    broker = alpaca_broker(server)
    server.inject("POST", "/v2/orders", 502)
    result = broker.submit(order("lost-1"))
    assert result.broker_order_id and len(server.orders_with_client_id("lost-1")) == 1
    assert posts(server) == 2
    lookups = [q for m, p, q in server.requests if p == "/v2/orders:by_client_order_id"]
    assert lookups == [{"client_order_id": "lost-1"}]  # looked up before the resend


def test_duplicate_id_422_is_success(server: TradingFakeServer) -> None:
    landed = server.add_order(client_order_id="dup-1", symbol="AAPL", qty="10", side="buy", type="market")
    broker = alpaca_broker(server)  # a fresh process: it does not remember sending dup-1
    result = broker.submit(order("dup-1"))
    assert result.broker_order_id == landed["id"] and result.status is not OrderStatus.REJECTED
    assert len(server.orders_with_client_id("dup-1")) == 1


def test_429_honours_retry_after_when_a_server_sends_it(server: TradingFakeServer) -> None:
    sleeps: list[float] = []
    broker = alpaca_broker(server, sleeps)
    server.rate_limit_headers = False  # a proxy in front of Alpaca might answer this way
    server.retry_after = 2
    server.inject("GET", "/v2/account", 429)
    server.inject("POST", "/v2/orders", 429)
    assert broker.account().cash == 100_000.0
    assert broker.submit(order("rl-1")).broker_order_id
    assert sleeps == [2.0, 2.0]
    assert len(server.orders_with_client_id("rl-1")) == 1


def test_a_burst_of_429s_waits_for_x_ratelimit_reset_and_loses_nothing(server: TradingFakeServer) -> None:
    """Alpaca's own 429: X-RateLimit-Reset (a Unix second), no Retry-After. Real sleeps here:
    the server's clock says when each request arrived."""
    broker = AlpacaBroker(
        AlpacaConfig(trading_url=server.url, timeout_seconds=2.0, max_retries=3, backoff_seconds=0.01),
        Secrets(alpaca_key=server.key_id, alpaca_secret=server.secret_key),
    )
    server.retry_after = 1
    server.inject("POST", "/v2/orders", 429, times=2)
    server.inject("GET", "/v2/account", 429)
    assert broker.submit(order("burst-1")).status is OrderStatus.NEW
    assert broker.account().cash < 100_000.0  # the order is there: its buy reserves cash
    assert len(server.orders_with_client_id("burst-1")) == 1  # not lost, not doubled
    assert len(server.rate_limit_resets) == 3
    for k, (path, reset) in enumerate(server.rate_limit_resets):
        refused_at = [t for _, p, t in server.request_times if p == path][k if path == "/v2/orders" else 0]
        after = [t for _, p, t in server.request_times if p == path and t > refused_at]
        assert after and after[0] >= reset, (
            path,
            reset,
            after[:1],
        )  # nothing sent before the window refilled


def test_a_hung_response_is_abandoned_within_the_timeout(server: TradingFakeServer) -> None:
    broker = alpaca_broker(server, max_retries=0)
    server.inject("GET", "/v2/account", "hang")
    started = time.monotonic()
    with pytest.raises(TemporaryError):
        broker.account()
    assert time.monotonic() - started < 3 * TIMEOUT
    assert broker.positions() == {}  # keeps working afterwards
    server.inject("GET", "/v2/positions", "hang")
    started = time.monotonic()
    assert alpaca_broker(server).positions() == {}  # retried after the timeout
    assert time.monotonic() - started < 3 * TIMEOUT


@pytest.mark.parametrize("kind", ["reset", "malformed", 502, 504])
def test_get_is_retried_after_transient_failures(server: TradingFakeServer, kind) -> None:
    sleeps: list[float] = []
    broker = alpaca_broker(server, sleeps)
    server.inject("GET", "/v2/account", kind)
    assert broker.account().equity == 100_000.0
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.01  # backoff_seconds with jitter


def test_retries_are_bounded_and_back_off(server: TradingFakeServer) -> None:
    sleeps: list[float] = []
    broker = alpaca_broker(server, sleeps, max_retries=3, backoff_seconds=1.0)
    server.inject("GET", "/v2/positions", 503, times=10)
    with pytest.raises(TemporaryError, match="gave up after 4 attempts"):
        broker.positions()
    assert len(sleeps) == 3
    for attempt, pause in enumerate(sleeps):  # equal jitter: [base/2, base]
        assert 2**attempt / 2 <= pause <= 2**attempt


def test_invalid_order_is_rejected_not_retried(server: TradingFakeServer) -> None:
    sleeps: list[float] = []
    broker = alpaca_broker(server, sleeps)
    result = broker.submit(order("bad-stop", protective_stop=150.0))  # stop above a long's entry
    assert result.status is OrderStatus.REJECTED and "stop_loss.stop_price" in result.reason
    assert posts(server) == 1 and sleeps == []


def test_bad_keys_give_a_clear_config_error(server: TradingFakeServer) -> None:
    config = AlpacaConfig(trading_url=server.url, timeout_seconds=TIMEOUT)
    broker = AlpacaBroker(config, Secrets(alpaca_key="PKWRONG", alpaca_secret="wrong-secret-value"))
    with pytest.raises(ConfigError, match="ALPACA_API_KEY") as info:
        broker.account()
    assert "wrong-secret-value" not in str(info.value)


def test_missing_keys_name_the_variables() -> None:
    with pytest.raises(ConfigError, match="ALPACA_API_KEY and ALPACA_SECRET_KEY"):
        AlpacaBroker(AlpacaConfig(trading_url="http://127.0.0.1:9"), secrets_from_env({}))


@pytest.mark.parametrize("url", ["https://api.alpaca.markets", "https://API.alpaca.markets/v2"])
def test_the_live_endpoint_is_refused(url: str) -> None:
    secrets = Secrets(alpaca_key="PKX", alpaca_secret="secret-x")
    with pytest.raises(ConfigError, match="LIVE endpoint"):
        AlpacaBroker(AlpacaConfig(trading_url=url), secrets)


def test_secrets_never_reach_the_logs(server: TradingFakeServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = server.secret_key
    caplog.set_level(logging.DEBUG)  # urllib3 and alpaca-py log at debug
    with structlog.testing.capture_logs() as events:
        broker = alpaca_broker(server)
        server.inject("POST", "/v2/orders", 504, after=True)
        server.inject("GET", "/v2/account", 429)
        broker.submit(order("log-1"))
        broker.account()
        broker.submit(order("log-2", qty=10**6))  # rejected: logged as a warning
        wrong = AlpacaBroker(
            AlpacaConfig(trading_url=server.url, timeout_seconds=TIMEOUT),
            Secrets(alpaca_key="PKWRONG", alpaca_secret=secret + "-x"),
        )
        with pytest.raises(ConfigError) as info:
            wrong.account()
    text = repr(events) + caplog.text + str(info.value) + repr(broker.__dict__)
    assert events and secret not in text and server.key_id not in repr(events)


def test_clock_and_calendar_pass_through(server: TradingFakeServer) -> None:
    from datetime import date

    broker = alpaca_broker(server)
    assert broker.clock().is_open is True
    days = broker.calendar(date(2024, 1, 5), date(2024, 1, 8))
    assert [d.date.isoformat() for d in days] == ["2024-01-05", "2024-01-08"]


def test_fills_since_reports_filled_orders(server: TradingFakeServer) -> None:
    from datetime import UTC, datetime, timedelta

    broker = alpaca_broker(server)
    start = datetime.now(UTC) - timedelta(seconds=1)
    broker.submit(order("fs-1"))
    broker.submit(order("fs-2", qty=5, protective_stop=90.0))
    # the fake fills a market order just after answering the POST, on its own thread: wait for it,
    # or the price move below could overtake the entries
    wait_for(
        lambda: all(broker.get_order(cid).status is OrderStatus.FILLED for cid in ("fs-1", "fs-2")),
        5,
        "the entries to fill",
        every=0.01,
    )
    server.set_price("AAPL", 80.0)  # the protective stop fires
    fills = broker.fills_since(start)
    assert sorted((f.client_order_id, f.side, f.qty, f.price) for f in fills) == [
        ("fs-1", Side.BUY, 10, 100.0),
        ("fs-2", Side.BUY, 5, 100.0),
        ("fs-2-stop", Side.SELL, 5, 80.0),
    ]
    assert broker.fills_since(datetime.now(UTC) + timedelta(seconds=5)) == []


def test_close_all_gets_flat_through_pending_cancels_and_207_refusals(server: TradingFakeServer) -> None:
    """A protected long (its stop leg holds the shares) and a resting buy: Alpaca's first answer
    refuses the close (the shares are still held while the cancels are pending); the broker waits
    and closes again until the account is flat."""
    broker = alpaca_broker(server)
    server.cancel_delay = 0.5
    entry = broker.submit(order("kill-entry", qty=20, protective_stop=90.0))
    assert entry.status is OrderStatus.NEW
    server.tick()
    broker.submit(order("kill-resting", qty=5, type=OrderType.LIMIT, limit_price=50.0))
    assert [o.protective for o in broker.open_orders()].count(True) == 1
    started = time.monotonic()
    closes = broker.close_all()
    server.tick()  # the market order Alpaca sent fills
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert broker.positions() == {} and broker.open_orders() == []
    assert [c.symbol for c in closes] == ["AAPL"]
    first_answers = [(m, p) for m, p, _ in server.requests if m == "DELETE" and p.startswith("/v2/positions")]
    assert (
        first_answers[0] == ("DELETE", "/v2/positions") and ("DELETE", "/v2/positions/AAPL") in first_answers
    )


def test_cancel_waits_for_the_confirmation_of_a_pending_cancel(server: TradingFakeServer) -> None:
    broker = alpaca_broker(server)
    server.cancel_delay = 0.4
    broker.submit(order("c-wait", type=OrderType.LIMIT, limit_price=50.0))
    started = time.monotonic()
    cancelled = broker.cancel("c-wait")
    assert cancelled.status is OrderStatus.CANCELED and time.monotonic() - started >= 0.4
    assert broker.open_orders() == []
