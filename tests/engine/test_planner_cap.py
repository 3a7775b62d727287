"""The planner holds a target to the risk gate's size cap (``max_position``), so it does not
propose what the gate would deny: one symbol at 95 % allocation under the default 50 % cap."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import load_config, override
from bot.data.sources import make_feed
from bot.engine.planner import capped_target
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal

from testkit import write_config, write_daily_csv


@pytest.mark.parametrize(
    ("target", "current", "cap", "expected"),
    [
        (95, 0, 50, 50),  # an entry: cut to the cap
        (95, 50, 50, 50),  # at the cap: nothing more
        (95, 30, 50, 50),  # below it: up to the cap, no further
        (95, 70, 50, 70),  # past it (the price rose): kept, not trimmed (max_position trims nothing)
        (40, 70, 50, 40),  # a target under the cap is the strategy's, a reduction included
        (-95, 0, 50, -50),  # shorts alike
        (-95, 20, 50, -50),  # a flip: the new side is capped
        (95, 10, None, 95),  # no cap
    ],
)
def test_capped_target(target, current, cap, expected):
    assert capped_target(target, current, cap) == expected


def test_one_symbol_at_95_percent_proposes_nothing_the_cap_denies(tmp_path):
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 500)))
    folder = write_daily_csv(tmp_path / "bars", close)
    # the default config (max_position_pct 0.5, rebalance band 0.25), loss limits off so it trades on
    config = load_config(write_config(tmp_path, "[risk]\ndaily_loss_pct = 0.0\nmax_drawdown_pct = 0.0\n"))
    config = override(config, "data", "test", source=f"csv:{folder}")
    config = override(config, "strategy", "test", name="sma_cross")
    with open_journal(tmp_path / "journal.sqlite") as journal:
        result = run_simulation(config, make_feed(config), journal, "cap", progress=False)
        rules = {r[0] for r in journal.query("SELECT DISTINCT rule FROM decisions WHERE rule IS NOT NULL")}
    entries = [f for f in result.fills if f.side == "buy"]
    assert len(entries) >= 5  # the rule really trades
    assert "max_position" not in rules and not any("max_position" in v for v in result.verdicts)
    equity = result.equity["equity"]
    for fill in entries:  # each entry is the cap's worth, not more
        before = equity[equity.index < fill.ts].iloc[-1]
        assert fill.qty * fill.price <= 0.5 * before * 1.05  # the next open may gap a little


def test_a_verdict_repeated_every_step_is_journaled_every_time_and_logged_once(tmp_path):
    """A halted run keeps wanting in: each step's denied entry is a decision row, but one log line
    says it until the verdict changes."""
    from structlog.testing import capture_logs

    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))
    folder = write_daily_csv(tmp_path / "bars", close, spread=0.0, volume=1)
    # a smallest order above any order this account can place: the entry is refused at every step
    config = load_config(
        write_config(tmp_path, "[risk]\nmin_order_notional = 1e9\n" + "daily_loss_pct = 0.0\n")
    )
    config = override(config, "data", "test", source=f"csv:{folder}")
    config = override(config, "strategy", "test", name="buy_and_hold")
    with capture_logs() as logs, open_journal(tmp_path / "journal.sqlite") as journal:
        result = run_simulation(config, make_feed(config), journal, "logs", progress=False)
        denied = journal.query("SELECT COUNT(*) FROM decisions WHERE verdict = 'deny'")[0][0]
    lines = [e for e in logs if e["event"] == "risk_verdict"]
    assert denied == len(result.equity) > 100  # refused at every step, each one journaled
    assert len(lines) == 1 and lines[0]["rule"] == "order_notional"
