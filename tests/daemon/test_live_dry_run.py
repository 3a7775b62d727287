"""The dry run on live bars (no --source): Alpaca bars from the local data server, fills by the
simulated broker, nothing sent to any trading API."""

from __future__ import annotations

from pathlib import Path

from test_live_loop import SYMBOLS, serve

from bot.config import Secrets, load_config
from bot.daemon.assemble import assemble
from bot.journal.store import Journal

from daemonkit import KEY, SECRET
from fakes.alpaca_data import DataFakeServer
from testkit import write_config


def test_a_live_dry_run_fills_on_the_next_live_bar_with_the_simulated_broker(tmp_path: Path):
    data = DataFakeServer(key_id=KEY, secret_key=SECRET).start()
    try:
        serve(data, 30)
        config = load_config(
            write_config(
                tmp_path,
                f"""
[data]
symbols = {list(SYMBOLS)!r}
timeframe = "1Min"
[strategy]
name = "buy_and_hold"
[alpaca]
data_url = "{data.url}"
trading_url = "http://127.0.0.1:9"
timeout_seconds = 1.0
max_retries = 0
""".replace("'", '"'),
            )
        )
        journal = Journal(tmp_path / "dry_run.sqlite")
        parts = assemble(
            config,
            journal,
            dry_run=True,
            replay_source=None,
            speed=1,
            new_run=False,
            secrets=Secrets(alpaca_key=KEY, alpaca_secret=SECRET),
            alert=lambda s, t: None,
        )
        assert parts.mode == "dry-run" and parts.sessions is not None  # the exchange calendar
        parts.loop.on_steps(parts.live.poll(serve(data, 31)))  # decide: buy both at the next open
        broker = parts.loop.venue.broker
        assert {o.symbol for o in broker.open_orders()} == set(SYMBOLS) and not broker.positions()
        parts.loop.on_steps(parts.live.poll(serve(data, 32)))  # the next bar: filled at its open
        positions = broker.positions()
        assert set(positions) == set(SYMBOLS)
        opens = {s: float(f.price) for s, f in ((f.symbol, f) for f in broker.fills)}
        assert all(
            abs(opens[s] - (20 + 31 * 0.01) * (1 + 1e-4)) < 1e-9 for s in SYMBOLS
        )  # open + 1 bp slippage
        fills = journal.query("SELECT COUNT(*) FROM fills")[0][0]
        assert fills == 2
        journal.close()
    finally:
        data.stop()
