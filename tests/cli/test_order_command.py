"""``python -m bot order``: a manual order through the risk gate and the journal, with the real
alpaca-py client against the strict local fake (held shares, asynchronous cancels)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.broker.base import OrderRequest, Side
from bot.journal.store import Journal

from fakes.alpaca_data import with_one_minute
from fakes.alpaca_trading import TradingFakeServer, alpaca_broker, journaled_protected_entry
from testkit import query, run_cli, write_alpaca_config

KEY, SECRET = "order-key-id", "order-secret"


@pytest.fixture
def server() -> Iterator[TradingFakeServer]:
    s = TradingFakeServer(key_id=KEY, secret_key=SECRET).start()
    data = with_one_minute(s, "AAPL", 100.0)
    try:
        yield s
    finally:
        s.stop()
        data.stop()


def config_for(tmp_path: Path, server: TradingFakeServer) -> Path:
    return write_alpaca_config(tmp_path, server.url, server.data_url)


def order(tmp_path: Path, server: TradingFakeServer, *args: str):
    return run_cli(
        "order", "--config", str(config_for(tmp_path, server)), *args, cwd=tmp_path, env=server.key_env
    )


def journaled_entry(tmp_path: Path, server: TradingFakeServer) -> None:
    """An entry with its stop, sent and journaled by the bot (the leg's broker id with it: the fake
    un-nests the leg once the entry fills, as Alpaca may)."""
    with Journal(tmp_path / "journal.sqlite") as journal:
        journaled_protected_entry(server, journal, "bot-entry", 50, 90.0)


def test_a_manual_sale_of_protected_shares_is_sold_and_the_rest_stays_protected(server, tmp_path):
    journaled_entry(tmp_path, server)
    server.tick()
    result = order(tmp_path, server, "sell", "AAPL", "20", "--reason", "taking some off")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "risk gate: allow" in result.stdout and "broker: new sell 20 AAPL" in result.stdout
    assert "protective stop: 30 AAPL at 90.00" in result.stdout
    server.tick()
    assert server.holdings["AAPL"][0] == 30
    assert [o["client_order_id"] for o in server.orders if o["status"] == "rejected"] == []  # no 403
    stops = [(o["qty"], o["stop_price"]) for o in server.open_orders_of("AAPL") if o["type"] == "stop"]
    assert stops == [("30", "90.0")]
    rows = query(
        tmp_path / "journal.sqlite", "SELECT client_order_id, status, reason FROM orders ORDER BY rowid"
    )
    manual = [r for r in rows if r[0].startswith("manual-sell-AAPL-20-") and not r[0].endswith("-stop")]
    assert manual and manual[-1][1] == "new" and manual[-1][2] == "taking some off"
    again = order(tmp_path, server, "sell", "AAPL", "20")  # the same minute: the same id
    if again.stdout.startswith("already sent"):  # (a minute boundary in between makes it a new order)
        assert again.returncode == 0
        assert len([o for o in server.orders if o["side"] == "sell" and o["type"] == "market"]) == 1
        assert [(o["qty"], o["status"]) for o in server.open_orders_of("AAPL")] == [("30", "accepted")]


def test_a_halted_bot_refuses_a_manual_buy_with_its_own_exit_code(server, tmp_path):
    config = config_for(tmp_path, server)
    assert run_cli("kill", "--config", str(config), "--reason", "drill", cwd=tmp_path).returncode == 0
    result = order(tmp_path, server, "buy", "AAPL", "5")
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stdout.startswith("risk gate: deny (halted: trading HALTED") and "drill" in result.stdout
    assert [o for o in server.orders if o["side"] == "buy"] == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("buy", "AAPL", "0"), "QTY"),
        (("buy", "AA$L", "1"), "SYMBOL"),
        (("sell", "AAPL", "1", "--stop", "90"), "--stop"),
        (("buy", "AAPL", "1", "--stop", "150"), "--stop"),
    ],
)
def test_bad_manual_orders_exit_2_naming_what_is_wrong(server, tmp_path, args, fragment):
    result = order(tmp_path, server, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        result.stderr.startswith("error: ") and fragment in result.stderr and "Traceback" not in result.stderr
    )
    assert server.posts == []


def test_a_dry_run_prints_the_verdict_and_sends_nothing(server, tmp_path):
    alpaca_broker(server).submit(OrderRequest("bot-entry", "AAPL", Side.BUY, 10))
    server.tick()
    posts = len(server.posts)
    result = order(tmp_path, server, "sell", "AAPL", "5", "--dry-run")  # a reduction: allowed at any hour
    assert result.returncode == 0 and "risk gate: allow" in result.stdout and "not sent" in result.stdout
    assert len(server.posts) == posts
