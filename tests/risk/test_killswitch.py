"""The kill switch is durable journal state; the gate checks it first and trips it on a halt."""

from riskkit import context, intent

from bot.broker.base import Side
from bot.config import RiskConfig
from bot.journal.store import open_journal
from risk.base import Action
from risk.gate import RiskGate
from risk.killswitch import KillSwitch


def test_halt_and_resume_survive_reopening(tmp_path):
    path = tmp_path / "j.sqlite"
    with open_journal(path) as journal:
        assert tuple(KillSwitch(journal).state())[0] is False
        KillSwitch(journal).halt("alice@host pid 1", "testing")
    with open_journal(path) as journal:
        halted, reason, at, by = KillSwitch(journal).state()
        assert halted and reason == "testing" and by == "alice@host pid 1" and at
        KillSwitch(journal).resume("bob", "done")
    with open_journal(path) as journal:
        assert not KillSwitch(journal).halted


def test_halted_gate_passes_only_reductions(tmp_path):
    with open_journal(tmp_path / "j.sqlite") as journal:
        switch = KillSwitch(journal)
        gate = RiskGate.from_config(RiskConfig(), switch)
        switch.halt("test", "why not")
        denied = gate.evaluate(intent(Side.BUY, 1), context())
        assert (
            denied.intent is None and denied.verdict.rule == "halted" and "why not" in denied.verdict.reason
        )
        held = context({"AAPL": 10})
        assert gate.evaluate(intent(Side.SELL, 4), held).intent.qty == 4
        assert gate.evaluate(intent(Side.SELL, 11), held).intent is None  # would cross into a short
        switch.resume("test")
        assert gate.evaluate(intent(Side.BUY, 1), context()).intent is not None


def test_a_halt_verdict_trips_the_switch(tmp_path):
    with open_journal(tmp_path / "j.sqlite") as journal:
        switch = KillSwitch(journal)
        gate = RiskGate.from_config(RiskConfig(daily_loss_pct=0.05), switch)
        result = gate.evaluate(intent(Side.BUY, 1), context(equity=9_000, day_start_equity=10_000))
        assert result.intent is None and result.verdict.action is Action.HALT
        state = switch.state()
        assert state.halted and state.by == "risk:daily_loss" and "10.00%" in state.reason
