"""``status`` after a real daemon stops: SIGTERM marks the heartbeat stopped, SIGKILL leaves a
heartbeat whose process is gone; either way ``daemon_alive`` is false and ``status --check`` exits
non-zero with the reason, without waiting for the heartbeat to go stale (max age here: 120 s)."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.journal.heartbeat import beat, liveness, read_heartbeat
from bot.journal.store import Journal, open_journal
from bot.status.view import check, collect

from daemonkit import KEY_ENV, Daemon, query, wait_for
from testkit import run_cli, write_config

ARGS = ("--dry-run", "--source", "sample", "--timeframe", "1Min", "--speed", "600", "--strategy", "sma_cross")


def _config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path,
        "[daemon]\nheartbeat_seconds = 0.5\nheartbeat_max_age_seconds = 120\nkill_poll_seconds = 0.2\n",
    )


def _verdict(config: Path, journal: Path) -> tuple[int, str, dict]:
    """``status --check`` computed in this process (the CLI's own functions), fresh each call."""
    with Journal(journal, readonly=True) as j:
        info = {"journal": str(journal), **collect(j, load_config(config))}
    code, line = check(info, True)
    return code, line, info


def _started(tmp_path: Path, config: Path, name: str) -> Daemon:
    daemon = Daemon(tmp_path, *ARGS, "--config", str(config), name=name)
    journal = tmp_path / "dry_run.sqlite"
    wait_for(lambda: query(journal, "SELECT 1 FROM control WHERE key = 'heartbeat'"), 60, "a heartbeat")
    code, line, info = _verdict(config, journal)
    assert code == 0 and line.startswith("ok:") and info["daemon_alive"] is True, (line, daemon.output())
    assert info["daemon_state"] == "running"
    assert "pace: one 1Min bar every 0.1 s at 600x" in daemon.output()  # said at start
    return daemon


def test_sigterm_marks_the_heartbeat_stopped(tmp_path: Path):
    config = _config(tmp_path)
    journal = tmp_path / "dry_run.sqlite"
    daemon = _started(tmp_path, config, "term")
    try:
        code, _ = daemon.stop(timeout=15)
        assert code == 0, daemon.output()
        # the heartbeat is fresh (seconds old, max 120) but the daemon said it stopped
        code, line, info = wait_for(lambda: _nonzero(config, journal), 2, "status --check non-zero")
        assert info["daemon_alive"] is False and info["daemon_state"] == "stopped"
        assert info["heartbeat_age_seconds"] < 120
        assert line.startswith("stopped: ") and "stopped cleanly" in line
    finally:
        daemon.cleanup()
    result = run_cli("status", "--dry-run", "--check", "--json", "--config", str(config), env=KEY_ENV)
    assert result.returncode == 1 and result.stderr.startswith("stopped: "), result.stderr
    assert json.loads(result.stdout)["daemon_alive"] is False
    text = run_cli("status", "--dry-run", "--config", str(config), env=KEY_ENV).stdout
    assert "daemon: STOPPED" in text and "alive" not in text


def test_sigkill_leaves_a_heartbeat_whose_process_is_gone(tmp_path: Path):
    config = _config(tmp_path)
    journal = tmp_path / "dry_run.sqlite"
    daemon = _started(tmp_path, config, "kill")
    try:
        daemon.signal(signal.SIGKILL)
        # not reaped yet (a zombie: its pid still exists), it is already dead
        code, line, info = wait_for(lambda: _nonzero(config, journal), 2, "status --check non-zero")
        assert info["daemon_alive"] is False and info["daemon_state"] == "dead"
        daemon.proc.wait(10)  # reaped: the pid is gone
        code, line, info = _verdict(config, journal)
        assert code == 1 and info["daemon_alive"] is False and info["daemon_state"] == "dead"
        assert line.startswith("dead: ") and "no such process" in line
        with Journal(journal, readonly=True) as j:
            assert read_heartbeat(j).detail["state"] == "running"  # nobody marked it: it died
    finally:
        daemon.cleanup()


def _nonzero(config: Path, journal: Path) -> tuple[int, str, dict] | None:
    verdict = _verdict(config, journal)
    return verdict if verdict[0] != 0 else None


def test_a_reused_pid_is_not_the_daemon(tmp_path: Path):
    """Same pid, another start time (the pid was reused after a crash): dead, not alive."""
    with open_journal(tmp_path / "j.sqlite") as journal:
        beat(journal, {"run_id": "r"})
        alive = read_heartbeat(journal)
        assert liveness(alive, 120)[0] == "running"
        forged = type(alive)(alive.at, alive.by, {**alive.detail, "process_start": "other-boot:1"})
        assert liveness(forged, 120)[0] == "dead"
        # another host: judged by age alone
        remote = type(alive)(alive.at, alive.by, {**forged.detail, "host": "elsewhere.invalid"})
        assert liveness(remote, 120)[0] == "running"
        old = datetime.now(UTC) + timedelta(seconds=121)
        assert liveness(remote, 120, old)[0] == "stale"
