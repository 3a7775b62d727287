"""Limits that are off by default are off while their key is absent; a 0 (the old "0 = off") is
refused naming the key, the file and how to turn the limit off. Limits that are on by default keep
0 as their written "off", since an absent key gives the default."""

from __future__ import annotations

import pytest

from bot.config import RiskConfig, load_config
from bot.engine.exits import protective_exits
from bot.errors import ConfigError
from risk.gate import RiskGate

from testkit import run_cli, write_config

OFF_WHILE_ABSENT = (
    "max_position_notional",
    "max_gross_exposure_pct",
    "max_open_positions",
    "min_order_notional",
    "max_order_notional",
    "max_orders_per_minute",
    "max_orders_per_day",
    "take_profit_pct",
    "trailing_stop_pct",
    "stop_loss_atr",
)


@pytest.mark.parametrize("key", OFF_WHILE_ABSENT)
def test_absent_is_off(key):
    assert getattr(RiskConfig(), key) is None


@pytest.mark.parametrize("key", OFF_WHILE_ABSENT)
@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_zero_or_negative_limit_is_refused_with_the_way_to_turn_it_off(tmp_path, key, value):
    if value == "0" and not key.startswith(("max_open", "max_orders")):
        value = "0.0"  # a float key, written as config.toml used to write its "off"
    path = write_config(tmp_path, f"[risk]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and f"risk.{key}" in message
    assert "remove the key to turn it off" in message


@pytest.mark.parametrize("key", ["max_open_positions", "take_profit_pct"])
def test_an_empty_string_is_not_a_number(tmp_path, key):
    with pytest.raises(ConfigError, match=rf"risk\.{key}: expected a (whole )?number, got ''"):
        load_config(write_config(tmp_path, f'[risk]\n{key} = ""\n'))


def test_a_set_limit_reaches_the_gate_and_the_exits(tmp_path):
    text = "[risk]\nmax_open_positions = 2\nmax_order_notional = 500.0\ntake_profit_pct = 0.2\nstop_loss_atr = 1.5\n"
    risk = load_config(write_config(tmp_path, text)).risk
    assert (risk.max_open_positions, risk.max_order_notional) == (2, 500.0)
    rules = {type(rule).__name__: rule for rule in RiskGate.from_config(risk).rules}
    assert rules["MaxOpenPositions"].max_positions == 2
    assert rules["OrderNotional"].max_notional == 500.0
    exits = protective_exits(risk)
    assert exits is not None and (exits.take_profit_pct, exits.stop_loss_atr) == (0.2, 1.5)


def test_absent_limits_build_a_gate_without_them():
    rules = {type(rule).__name__: rule for rule in RiskGate.from_config(RiskConfig()).rules}
    assert rules["MaxOpenPositions"].max_positions == 0  # the rule's "no limit"
    assert (rules["OrderRate"].per_minute, rules["OrderRate"].per_day) == (0, 0)
    no_exits = RiskConfig(stop_loss_pct=0.0)
    assert protective_exits(no_exits) is None


def test_limits_on_by_default_still_take_0_as_off(tmp_path):
    text = (
        "[risk]\ndaily_loss_pct = 0\nmax_drawdown_pct = 0\nstop_loss_pct = 0\nmax_stale_bars = 0\n"
        "[daemon]\nmax_broker_failures = 0\n"
    )
    config = load_config(write_config(tmp_path, text))
    r = config.risk
    assert (r.daily_loss_pct, r.max_drawdown_pct, r.stop_loss_pct, r.max_stale_bars) == (0, 0, 0, 0)
    assert config.daemon.max_broker_failures == 0


def test_the_cli_exits_2_with_one_line_naming_key_and_file(tmp_path):
    path = write_config(tmp_path, "[risk]\nmax_orders_per_day = 0\n")
    result = run_cli("simulate", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "risk.max_orders_per_day" in lines[0]
    assert "remove the key to turn it off" in lines[0] and "Traceback" not in result.stderr
