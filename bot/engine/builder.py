"""The one place an ``Engine`` is built: from the config, the same way in every mode.

``EngineConfig.from_config(config, mode)`` takes every setting the engine and its risk gate use
from the config into one frozen value; ``build_engine`` turns it, with the run's parts (strategy,
broker, journal, kill switch, forecaster), into an ``Engine``. Simulation, dry run and paper
differ in these settings only, and they are named here:

| setting | simulate | dry-run, paper |
|---|---|---|
| ``contain_model_failures`` | False: a model that raises ends the run (figures from a silently lost model would be wrong) | True: entries halt, exits and reductions go on |
| ``protection_log_level`` | "debug": a replay moves its stops hundreds of times, each one in the journal; its log tells the run | "info": each stop cancelled or placed at the broker is a log line |

Everything else (the risk rules and their limits, the stops, the rebalance band, the cash buffer,
extended hours, shorting) is the config's, in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.broker.base import Broker
from bot.config import Config, RiskConfig
from bot.engine.engine import Engine, Forecaster
from bot.engine.exits import protective_exits
from bot.journal.store import Journal
from risk.gate import RiskGate
from risk.killswitch import KillSwitch
from strategies.base import Strategy

Mode = Literal["simulate", "dry-run", "paper"]
MODES: tuple[Mode, ...] = ("simulate", "dry-run", "paper")


@dataclass(frozen=True)
class EngineConfig:
    """Every setting of an engine and its risk gate (see the module docstring)."""

    risk: RiskConfig
    rebalance_band: float
    cash_buffer: float = 0.0
    extended_hours: bool = False
    allow_short: bool = False
    contain_model_failures: bool = False
    protection_log_level: Literal["info", "debug"] = "info"

    @classmethod
    def from_config(cls, config: Config, mode: Mode) -> EngineConfig:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return cls(
            risk=config.risk,
            rebalance_band=config.strategy.rebalance_band,
            cash_buffer=config.strategy.cash_buffer,
            extended_hours=config.data.extended_hours,
            allow_short=config.broker.allow_short,
            contain_model_failures=mode != "simulate",
            protection_log_level="debug" if mode == "simulate" else "info",
        )


def build_engine(
    settings: EngineConfig,
    *,
    run_id: str,
    strategy: Strategy,
    broker: Broker,
    journal: Journal,
    switch: KillSwitch | None = None,
    forecaster: Forecaster | None = None,
) -> Engine:
    """An engine whose gate holds ``settings.risk``'s rules, trips ``switch``, and whose entries
    carry the configured protective stop."""
    risk = settings.risk
    gate = RiskGate.from_config(
        risk, switch, extended_hours=settings.extended_hours, allow_short=settings.allow_short
    )
    return Engine(
        run_id=run_id,
        strategy=strategy,
        gate=gate,
        broker=broker,
        journal=journal,
        rebalance_band=settings.rebalance_band,
        cash_buffer=settings.cash_buffer,
        forecaster=forecaster,
        stop_loss_pct=risk.stop_loss_pct,
        stop_loss_atr=risk.stop_loss_atr or 0.0,  # absent (None) is off: no ATR leg
        atr_window=risk.atr_window,
        exits=protective_exits(risk),
        contain_model_failures=settings.contain_model_failures,
        protection_log_level=settings.protection_log_level,
    )
