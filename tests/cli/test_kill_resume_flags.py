"""``kill``/``resume`` flags: ``--dry-run`` addresses the dry run's journal and never Alpaca,
``--keep-positions`` is stored with the halt, and the journal work is fast and light."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from bot.__main__ import main
from bot.journal.heartbeat import beat
from bot.journal.store import Journal, open_journal
from risk.killswitch import KillSwitch

from fakes.alpaca_trading import TradingFakeServer
from testkit import heavy_imports, run_cli, write_alpaca_config, write_config

pytestmark = pytest.mark.usefixtures("no_alpaca_keys")


def _state(path):
    with Journal(path, readonly=True) as journal:
        return KillSwitch(journal).state()


def test_kill_dry_run_writes_the_dry_run_journal_only_and_never_reaches_alpaca(tmp_path):
    server = TradingFakeServer().start()
    try:
        server.add_outside_book()
        config = write_alpaca_config(tmp_path, server.url)
        env = server.key_env
        result = run_cli("kill", "--dry-run", "--reason", "demo over", "--config", str(config), env=env)
        assert result.returncode == 0, result.stderr
        assert "HALTED" in result.stdout and str(tmp_path / "dry_run.sqlite") in result.stdout
        assert "dry run: no broker was reached" in result.stdout and "closes its positions" in result.stdout
        assert server.requests == []  # keys were set, yet Alpaca was not asked anything
    finally:
        server.stop()
    assert not (tmp_path / "journal.sqlite").exists()  # the paper account's journal is untouched
    state = _state(tmp_path / "dry_run.sqlite")
    assert state.halted and state.reason == "demo over" and not state.keep_positions

    status = run_cli("status", "--dry-run", "--json", "--config", str(config))
    assert json.loads(status.stdout)["halted"] is True
    assert json.loads(run_cli("status", "--json", "--config", str(config)).stdout)["halted"] is False


def test_resume_dry_run_clears_only_the_dry_run_journal(tmp_path, capsys):
    config = str(write_config(tmp_path))
    assert main(["kill", "--reason", "paper", "--config", config]) == 0
    assert main(["kill", "--dry-run", "--reason", "dry", "--config", config]) == 0
    assert main(["resume", "--dry-run", "--config", config]) == 0
    assert "RESUMED" in capsys.readouterr().out
    assert not _state(tmp_path / "dry_run.sqlite").halted
    paper = _state(tmp_path / "journal.sqlite")
    assert paper.halted and paper.reason == "paper"


def test_kill_keep_positions_is_stored_with_the_halt(tmp_path, capsys):
    config = str(write_config(tmp_path))
    assert main(["kill", "--keep-positions", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "keeping positions" in out and "no broker was reached" in out
    assert _state(tmp_path / "journal.sqlite").keep_positions is True
    assert main(["status", "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["halt_keep_positions"] is True

    assert main(["kill", "--dry-run", "--keep-positions", "--config", config]) == 0
    assert "(positions kept)" in capsys.readouterr().out
    assert _state(tmp_path / "dry_run.sqlite").keep_positions is True

    assert main(["kill", "--config", config]) == 0  # a later plain kill flattens again
    assert _state(tmp_path / "journal.sqlite").keep_positions is False


def test_kill_says_whether_a_daemon_is_listening_and_is_fast(tmp_path, capsys):
    config = str(write_config(tmp_path))
    with open_journal(tmp_path / "dry_run.sqlite") as journal:
        beat(journal, {"mode": "dry-run"}, now=datetime.now(UTC))
    main(["resume", "--dry-run", "--config", config])  # imports and first open out of the timing
    capsys.readouterr()
    started = time.perf_counter()
    assert main(["kill", "--dry-run", "--config", config]) == 0
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed  # the journal write; no broker on the dry run
    out = capsys.readouterr().out
    assert "daemon: alive (pid " in out and "stops deciding within" in out


@pytest.mark.parametrize(
    "argv", [["kill", "--dry-run", "--keep-positions", "--reason", "x"], ["resume", "--dry-run"]]
)
def test_dry_run_kill_and_resume_are_light(argv, tmp_path):
    config = write_config(tmp_path)
    heavy, output = heavy_imports(*argv, "--config", str(config))
    assert heavy == [], output
