"""A kill that cannot be lost: the halt file beside the journal holds when the journal cannot."""

import subprocess
import sys
import time
from datetime import UTC, datetime

from bot.broker.base import Side
from bot.config import RiskConfig
from bot.journal.store import Journal, open_journal
from risk.base import Action, OrderIntent, RiskContext
from risk.gate import RiskGate
from risk.halt_file import halt_file_for, write_halt_file
from risk.killswitch import KillSwitch

from testkit import cli_env, run_cli, write_config

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO control (key, value, updated_at, updated_by, reason) VALUES ('lock-test', 'x', 'now', 'test', '')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def test_the_halt_file_alone_halts_every_order_path(tmp_path):
    journal = open_journal(tmp_path / "j.sqlite")
    switch = KillSwitch(journal)
    assert not switch.halted
    write_halt_file(
        halt_file_for(journal.path),
        by="ops",
        reason="drill",
        at="2026-01-01T00:00:00+00:00",
        keep_positions=False,
    )
    state = switch.state()
    assert state.halted and state.reason == "drill" and state.by == "ops"  # the journal still says active
    gate = RiskGate.from_config(RiskConfig(), switch)
    entry = OrderIntent("x", "ACME", Side.BUY, 10, 10.0, datetime(2026, 1, 5, 15, tzinfo=UTC))
    assert gate.evaluate(entry, RiskContext(100_000, 100_000, {}, {})).verdict.action is not Action.ALLOW
    switch.resume("ops", "done")
    assert not switch.halted and not halt_file_for(journal.path).exists()
    journal.close()


def test_a_damaged_halt_file_still_means_halted(tmp_path):
    journal = open_journal(tmp_path / "j.sqlite")
    halt_file_for(journal.path).write_text("{not json")
    state = KillSwitch(journal).state()
    assert state.halted and "damaged" in state.reason
    journal.close()


def test_kill_halts_at_once_while_another_process_holds_the_journal_locked(tmp_path):
    config = write_config(tmp_path)
    path = tmp_path / "journal.sqlite"
    open_journal(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), "15"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        killer = subprocess.Popen(
            [sys.executable, "-m", "bot", "kill", "--config", str(config), "--reason", "drill"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        halt_file = halt_file_for(path)
        while not halt_file.exists() and time.monotonic() - started < 30:
            time.sleep(0.05)
        assert halt_file.exists()  # durable while the journal is still locked
        assert holder.poll() is None  # the lock was still held when the halt became durable
        # a reader (the daemon's kill watch reads this way) sees the halt now, through the file
        assert KillSwitch(Journal(path, readonly=True)).state().halted
        out, err = killer.communicate(timeout=60)
        assert killer.returncode == 0, err
        assert "recorded in halt file" in out and "locked by another process" in err
    finally:
        holder.kill()
        holder.wait()
    status = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert "TRADING HALTED" in status.stdout and "drill" in status.stdout
    resumed = run_cli("resume", "--config", str(config), cwd=tmp_path)
    assert resumed.returncode == 0 and not halt_file_for(path).exists()
    assert "HALTED" not in run_cli("status", "--config", str(config), cwd=tmp_path).stdout


def test_kill_fails_loudly_only_when_nothing_can_take_the_halt(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[journal]\npath = "/proc/ml-paper-bot-test/journal.sqlite"\n[logging]\ndir = "{tmp_path}"\n'
    )
    result = run_cli("kill", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "could not be recorded anywhere" in result.stderr
    assert "Traceback" not in result.stderr
