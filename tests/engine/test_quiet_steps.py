"""Quiet steps (``bot.engine.quiet``) change nothing: the same replays run with and without them
journal the same orders, fills, decisions and equity rows, and end with the same results, across
settings that make things happen between orders (protective stops at the broker, exits checked
by the bot, loss limits that halt, a size cap, short history) — and they do skip steps."""

from __future__ import annotations

import re
import sqlite3

import pytest

from bot.config import load_config
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal

from testkit import NO_LOSS_LIMITS, write_config

# the wall-clock columns (created_at, updated_at) differ between any two runs: left out
TABLES = {
    "orders": "client_order_id, symbol, side, qty, type, limit_price, stop_price, protective, status,"
    " reason, filled_qty, filled_avg_price, protective_stop",
    "fills": "client_order_id, ts, symbol, side, qty, price, commission",
    "decisions": "ts, strategy, symbol, target_weight, current_qty, requested_qty, approved_qty,"
    " verdict, rule, reason, client_order_id",
    "equity": "ts, cash, equity, positions_value",
}

_WALL_CLOCK = re.compile(r"since \S+")

SMA = '[strategy]\nname = "sma_cross"\nallocation = 0.95\n[strategy.sma_cross]\nfast = 5\nslow = 15\n'
CASES = {
    # protective stops rest at the broker while positions are held; the default loss limits
    "stops and default limits": (SMA, "stop_loss_pct = 0.03\n", "1Day"),
    # no stop, no limit: the parity settings (nothing but the strategy's crosses)
    "no protections": (SMA, NO_LOSS_LIMITS, "1Day"),
    # exits the bot checks itself every step: take-profit and a trailing stop
    "take profit and trailing stop": (SMA, "take_profit_pct = 0.04\ntrailing_stop_pct = 0.03\n", "1Day"),
    # tight limits: the drawdown halt trips mid-run, the run flattens and stays halted
    "a drawdown halt": (SMA, "max_drawdown_pct = 0.08\ndaily_loss_pct = 0.04\n", "1Day"),
    # a size cap the planner holds targets to, a tight band, intraday bars over many days
    "size cap and hourly bars": (
        SMA.replace("allocation = 0.95", "allocation = 0.95\nrebalance_band = 0.01"),
        "max_position_pct = 0.15\nstop_loss_pct = 0.02\n",
        "1Hour",
    ),
    "buy and hold": (
        '[strategy]\nname = "buy_and_hold"\nallocation = 0.9\n',
        "stop_loss_pct = 0.05\n",
        "1Day",
    ),
}


def _run(tmp_path, name: str, strategy: str, risk: str, timeframe: str, quiet: bool):
    folder = tmp_path / f"{name.replace(' ', '_')}-{quiet}"
    folder.mkdir()
    config = load_config(
        write_config(
            folder,
            f'[data]\nsource = "sample"\ntimeframe = "{timeframe}"\n[news]\nreplay = "none"\n'
            f"{strategy}[risk]\n{risk}",
        )
    )
    journal = open_journal(config.resolve(config.journal.path))
    try:
        result = run_simulation(
            config, make_feed(config, journal), journal, "run", progress=False, quiet_steps=quiet
        )
    finally:
        journal.close()
    db = sqlite3.connect(config.resolve(config.journal.path))
    try:
        # insertion order where the table keeps one (equity has no rowid: in time order)
        order = {"equity": "ts"}
        rows = {
            table: db.execute(f"SELECT {cols} FROM {table} ORDER BY {order.get(table, 'rowid')}").fetchall()
            for table, cols in TABLES.items()
        }
    finally:
        db.close()
    # a halted gate's reason names the wall-clock time of the halt: the same halt, another moment
    rows["decisions"] = [
        tuple(_WALL_CLOCK.sub("since <halt>", v) if isinstance(v, str) else v for v in row)
        for row in rows["decisions"]
    ]
    return result, rows


@pytest.mark.parametrize("name", list(CASES))
def test_quiet_steps_journal_and_report_what_the_full_steps_do(tmp_path, name):
    strategy, risk, timeframe = CASES[name]
    full, full_rows = _run(tmp_path, name, strategy, risk, timeframe, quiet=False)
    quiet, quiet_rows = _run(tmp_path, name, strategy, risk, timeframe, quiet=True)
    assert full_rows["orders"], "the case trades"
    for table in TABLES:
        assert quiet_rows[table] == full_rows[table], table
    assert quiet.equity.equals(full.equity)
    assert quiet.fills == full.fills
    assert quiet.verdicts == full.verdicts
    assert (quiet.halted, quiet.halt_reason) == (full.halted, full.halt_reason)
    assert full.extra["quiet_steps"] == 0
    # many steps ran quiet: the comparison above is not between two full replays
    assert quiet.extra["quiet_steps"] > len(quiet.equity) // 10


def test_a_halt_is_found_on_a_quiet_stretch(tmp_path):
    """The drawdown case halts on a step the quiet path reached: its verdict and flattening are
    the full step's (the journal rows above), and the halt is on record."""
    quiet, _ = _run(tmp_path, "halt", *CASES["a drawdown halt"], quiet=True)
    assert quiet.halted and quiet.halt_reason
    assert any(key.startswith("halt:") for key in quiet.verdicts)
