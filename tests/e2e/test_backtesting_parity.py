"""Our ``sma_cross`` and backtesting.py (the PyPI package ``backtesting``) make the same trades on
backtesting.py's bundled GOOG daily bars: entry and exit times, sizes and prices to the cent.

The shared rule and the config that turns off everything backtesting.py does not model are in
``tests/backtesting_parity.py``; ``benchmarks/sim_vs_backtesting.py`` times the same two."""

from __future__ import annotations

import csv
import json
import tomllib
import warnings
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
from backtesting_parity import (
    PARITY_CONFIG,
    Trade,
    backtesting_trades,
    our_trades,
    parity_config,
    read_bars,
    sma_rule_strategy,
    write_goog,
)

from bot.broker.base import Fill, Side
from bot.config import load_config, override
from bot.config_schema import BrokerConfig, RiskConfig
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal

from testkit import run_cli, write_config

pytest.importorskip("backtesting")

#: [risk] keys that need no setting: they act only through another key set to 0 here
_INERT = {"atr_window"}  # the ATR window of stop_loss_atr (0: off)


def _theirs(goog: Path, fast: int, slow: int) -> tuple[list[Trade], int]:
    """backtesting.py's closed round trips and its position at the end."""
    from backtesting import Backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open": we compare that one apart
        backtest = Backtest(
            read_bars(goog / "GOOG.csv"), sma_rule_strategy(fast, slow), cash=100_000, commission=0.0
        )
        stats = backtest.run()
    return backtesting_trades(stats, "GOOG"), stats._strategy.position.size


def _compare(ours: list[Trade], theirs: list[Trade], held_at_end: int) -> None:
    closed = [t for t in ours if t.exit_time is not None]
    assert [t.rounded() for t in closed] == [t.rounded() for t in theirs]
    still_open = [t for t in ours if t.exit_time is None]
    assert sum(t.size for t in still_open) == held_at_end


def test_every_default_that_could_break_parity_is_set():
    """A new [risk] or [broker] key with a default that trades differently must be set in the
    parity config, or this fails (and says which)."""
    table = tomllib.loads(PARITY_CONFIG.format(cash=1, allocation=1, fast=1, slow=2))
    off_when_absent = {f.name for f in fields(RiskConfig) if f.default is None}
    assert {f.name for f in fields(RiskConfig)} - _INERT - off_when_absent - set(table["risk"]) == set()
    assert {f.name for f in fields(BrokerConfig)} - set(table["broker"]) == set()


def test_simulate_and_backtesting_py_make_the_same_47_round_trips_on_goog(tmp_path):
    goog = write_goog(tmp_path / "goog")
    config = write_config(tmp_path, parity_config(fast=10, slow=20))
    result = run_cli("simulate", "--config", str(config), "--source", f"csv:{goog}", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["bars"] == 2148 and summary["rejected_orders"] == 0 and summary["fees"] == 0
    with open(Path(summary["report_dir"]) / "trades.csv") as handle:
        fills = [
            Fill(
                r["client_order_id"],
                r["symbol"],
                Side(r["side"]),
                int(r["qty"]),
                float(r["price"]),
                float(r["commission"]),
                pd.Timestamp(r["ts"]).to_pydatetime(),
            )
            for r in csv.DictReader(handle)
        ]
    ours = our_trades(fills, daily=True)
    theirs, held = _theirs(goog, 10, 20)
    assert len(theirs) == 47  # what the issue measured: the rule really trades on this data
    _compare(ours, theirs, held)


@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (50, 200), (5, 15)])
def test_the_same_trades_for_other_windows(tmp_path, fast, slow):
    goog = write_goog(tmp_path / "goog")
    path = write_config(tmp_path, parity_config(fast=fast, slow=slow))
    config = load_config(path)

    config = override(config, "data", "test", source=f"csv:{goog}")
    with open_journal(tmp_path / "journal.sqlite") as journal:
        result = run_simulation(config, make_feed(config), journal, "parity", progress=False)
    theirs, held = _theirs(goog, fast, slow)
    assert len(theirs) >= 5
    _compare(our_trades(result.fills, daily=True), theirs, held)
