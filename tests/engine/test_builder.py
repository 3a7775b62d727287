"""One builder for every mode: the same config gives the same engine in simulate, dry-run and paper,
except the one setting the builder names (containing model failures)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.broker.sim import SimBroker
from bot.config import load_config
from bot.engine.builder import MODES, EngineConfig, build_engine
from bot.journal.store import Journal
from risk.killswitch import RunKillSwitch
from strategies.buy_and_hold import BuyAndHold

from testkit import REPO, write_config

NON_DEFAULTS = """
[data]
extended_hours = true
[broker]
allow_short = true
[strategy]
rebalance_band = 0.1
cash_buffer = 0.02
[risk]
stop_loss_pct = 0.07
stop_loss_atr = 2.5
atr_window = 9
take_profit_pct = 0.3
trailing_stop_pct = 0.12
daily_loss_pct = 0.04
max_drawdown_pct = 0.2
max_stale_bars = 5
max_orders_per_day = 40
"""


def _settings(engine) -> dict:
    """What an engine does with its config: its own knobs, its exits and every gate rule's."""
    rules = [
        (
            type(rule).__name__,
            {k: v for k, v in vars(rule).items() if not k.startswith("_") and k != "switch"},
        )
        for rule in engine.gate.rules
    ]
    exits = {k: v for k, v in vars(engine.exits).items() if not k.startswith("_")}
    return dict(
        rebalance_band=engine.rebalance_band,
        cash_buffer=engine.cash_buffer,
        stop_loss_pct=engine.stop_loss_pct,
        stop_loss_atr=engine.stop_loss_atr,
        atr_window=engine.atr_window,
        exits=exits,
        rules=rules,
    )


def test_every_mode_builds_the_same_engine_from_one_config(tmp_path) -> None:
    config = load_config(write_config(tmp_path, NON_DEFAULTS))
    built = {}
    with Journal(tmp_path / "journal.sqlite") as journal:
        for mode in MODES:
            settings = EngineConfig.from_config(config, mode)
            engine = build_engine(
                settings,
                run_id=mode,
                strategy=BuyAndHold(["X"], 0.5),
                broker=SimBroker(initial_cash=1000.0, symbols=["X"]),
                journal=journal,
                switch=RunKillSwitch(),
            )
            built[mode] = (
                _settings(engine),
                (engine.contain_model_failures, engine.protection.log_level),
            )
    first = built["simulate"][0]
    assert first["stop_loss_pct"] == 0.07 and first["rebalance_band"] == 0.1 and first["cash_buffer"] == 0.02
    rules = dict(first["rules"])
    assert rules["StaleData"] == {"max_bars": 5} and rules["RegularSession"]
    assert all(settings == first for settings, _ in built.values())
    assert {mode: named for mode, (_, named) in built.items()} == {
        "simulate": (False, "debug"),
        "dry-run": (True, "info"),
        "paper": (True, "info"),
    }


def test_the_builder_is_the_only_place_an_engine_is_made() -> None:
    makers = [
        path.relative_to(REPO)
        for folder in ("bot", "risk", "strategies")
        for path in (REPO / folder).rglob("*.py")
        if "Engine(" in path.read_text() and path.name not in ("builder.py", "engine.py")
    ]
    assert makers == []


def test_an_unknown_mode_is_refused(tmp_path) -> None:
    config = load_config(write_config(tmp_path))
    with pytest.raises(ValueError, match="mode must be one of"):
        EngineConfig.from_config(config, "live")  # type: ignore[arg-type]
    assert dataclasses.is_dataclass(EngineConfig)
