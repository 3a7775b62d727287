"""Reconciliation against the fake: a process killed between journaling and sending, adoption."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from bot.broker.base import Order, OrderRequest, OrderStatus, Side
from bot.broker.reconcile import ADOPTED, UNKNOWN, reconcile
from bot.journal.store import Journal

from fakes.alpaca_trading import TradingFakeServer, alpaca_broker
from testkit import REPO

RUN = "run-1"


@pytest.fixture
def server() -> Iterator[TradingFakeServer]:
    s = TradingFakeServer().start()
    s.set_price("AAPL", 100.0)
    s.set_price("MSFT", 300.0)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.sqlite") as j:
        yield j


def posts(server: TradingFakeServer) -> int:
    return sum(1 for m, p, _ in server.requests if (m, p) == ("POST", "/v2/orders"))


def status(journal: Journal, cid: str) -> str:
    return journal.order(cid).status


def test_an_order_journaled_by_a_killed_process_is_sent_exactly_once(
    server: TradingFakeServer, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite"
    script = Path(__file__).with_name("crash_after_journal.py")
    done = subprocess.run(
        [sys.executable, str(script), str(path), RUN, "crash-1", "AAPL", "10"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert server.orders == []  # it died before sending
    with Journal(path) as journal:
        assert status(journal, "crash-1") == "pending"
        broker = alpaca_broker(server)
        report = reconcile(journal, broker, RUN)
        assert report.resent == ["crash-1"] and report.errors == []
        assert len(server.orders_with_client_id("crash-1")) == 1
        assert status(journal, "crash-1") == "filled"  # the second pass saw the fill
        assert [dataclasses.astuple(p) for p in journal.positions(RUN)] == [("AAPL", 10, 100.0)]
        assert report.adopted_positions == []  # our own fill is not mistaken for an outside one

        again = reconcile(journal, alpaca_broker(server), RUN)  # a restart: fresh broker
        assert (again.resent, again.adopted_orders, again.adopted_positions) == ([], [], [])
        assert posts(server) == 1 and len(server.orders_with_client_id("crash-1")) == 1


def test_a_pending_order_the_broker_has_is_not_resent(server: TradingFakeServer, journal: Journal) -> None:
    request = OrderRequest("sent-1", "AAPL", Side.BUY, 5)
    journal.record_order(RUN, Order(request, datetime.now(UTC), OrderStatus.PENDING))
    server.add_order(client_order_id="sent-1", symbol="AAPL", qty="5", side="buy", type="market")
    server.tick()  # it fills at the broker while we were down
    report = reconcile(journal, alpaca_broker(server), RUN)
    assert report.resent == [] and report.updated == ["sent-1"] and report.fills == 1
    assert posts(server) == 0 and status(journal, "sent-1") == "filled"
    assert journal.filled_qty(RUN, "sent-1") == 5


def test_a_new_order_unknown_to_the_broker_is_closed(server: TradingFakeServer, journal: Journal) -> None:
    request = OrderRequest("ghost-1", "AAPL", Side.BUY, 5)
    journal.record_order(RUN, Order(request, datetime.now(UTC), OrderStatus.NEW))
    report = reconcile(journal, alpaca_broker(server), RUN)
    assert report.closed_unknown == ["ghost-1"] and posts(server) == 0
    record = journal.order("ghost-1")
    assert (record.status, record.reason) == ("canceled", UNKNOWN)


def test_orders_and_positions_made_outside_the_bot_are_adopted_loudly(
    server: TradingFakeServer, journal: Journal
) -> None:
    server.add_position("MSFT", 7, 290.0)
    server.add_order(
        client_order_id="manual-1", symbol="AAPL", qty="3", side="buy", type="limit", limit_price="50"
    )
    with structlog.testing.capture_logs() as events:
        report = reconcile(journal, alpaca_broker(server), RUN)
    assert report.adopted_orders == ["manual-1"] and report.adopted_positions == ["MSFT"]
    assert journal.order("manual-1").reason == ADOPTED
    assert status(journal, "manual-1") == "new"
    assert [dataclasses.astuple(p) for p in journal.positions(RUN)] == [("MSFT", 7, 290.0)]
    warnings = {e["event"] for e in events if e["log_level"] == "warning"}
    assert {"reconcile_adopted_order", "reconcile_adopted_position"} <= warnings

    again = reconcile(journal, alpaca_broker(server), RUN)
    assert (again.adopted_orders, again.adopted_positions) == ([], [])
    server.set_price("AAPL", 45.0)  # the adopted order fills: the journal follows it
    third = reconcile(journal, alpaca_broker(server), RUN)
    assert third.updated == ["manual-1"] and third.adopted_positions == []
    assert {p.symbol: p.qty for p in journal.positions(RUN)} == {"AAPL": 3, "MSFT": 7}


def test_a_resent_entry_keeps_its_protective_stop(server: TradingFakeServer, journal: Journal) -> None:
    request = OrderRequest("entry-1", "AAPL", Side.BUY, 10, protective_stop=95.0)
    journal.record_order(RUN, Order(request, datetime.now(UTC), OrderStatus.PENDING))  # then the process died
    report = reconcile(journal, alpaca_broker(server), RUN)
    assert report.resent == ["entry-1"]
    body = server.posts[-1]
    assert body["order_class"] == "oto" and float(body["stop_loss"]["stop_price"]) == 95.0
    assert journal.order("entry-1").protective_stop == 95.0


def test_a_pending_sale_of_shares_sold_meanwhile_is_not_resent_as_a_short(server, journal) -> None:
    """The process died after journaling a sale; the shares went meanwhile (a stop filled). The
    paper account would take the resend as a short sale: reconcile closes it in the journal instead."""
    assert server.shorting_enabled  # the paper default: a margin account
    request = OrderRequest("sell-after-stop", "AAPL", Side.SELL, 10)
    journal.record_order(RUN, Order(request, datetime.now(UTC), OrderStatus.PENDING))
    report = reconcile(journal, alpaca_broker(server), RUN)
    assert server.orders_with_client_id("sell-after-stop") == [] and "AAPL" not in server.holdings
    assert report.resent == [] and report.closed_unknown == ["sell-after-stop"]
    (row,) = journal.query("SELECT status, reason FROM orders WHERE client_order_id = 'sell-after-stop'")
    assert row["status"] == "canceled" and row["reason"].startswith("not resent")
