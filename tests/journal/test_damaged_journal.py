"""A damaged, foreign, empty or newer journal never breaks a command with a traceback: each one
exits 2 with one line naming the journal's key and the file — except ``kill``, which still halts
through the halt file beside the journal and says the journal could not take it."""

import random
import sqlite3

import pytest

from bot.journal.schema import SCHEMA_VERSION

from testkit import run_cli, write_config

COMMANDS = {
    "kill": ("kill", "--reason", "test"),
    "status": ("status",),
    "status --check": ("status", "--check"),
    "simulate": ("simulate", "--strategy", "buy_and_hold", "--start", "2021-01-04", "--end", "2021-02-26"),
    "report": ("report", "--date", "2021-01-05"),
}


@pytest.fixture(scope="module")
def good_journal(tmp_path_factory):
    """A real journal with a finished simulation in it (bytes to damage)."""
    tmp = tmp_path_factory.mktemp("good")
    config = write_config(tmp)
    result = run_cli("simulate", "--config", str(config), *COMMANDS["simulate"][1:], cwd=tmp)
    assert result.returncode == 0, result.stderr[-2000:]
    return (tmp / "journal.sqlite").read_bytes()


def damage(kind: str, path, good: bytes) -> None:
    if kind == "random bytes":
        path.write_bytes(random.Random(3).randbytes(64 * 1024))
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 3])
    elif kind == "newer schema":
        path.write_bytes(good)
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
        db.close()
    elif kind == "header overwritten":
        path.write_bytes(b"\0" * 100 + good[100:])


@pytest.mark.parametrize("kind", ["random bytes", "truncated", "newer schema", "header overwritten"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_damaged_journal_is_one_clear_line_and_exit_2(tmp_path, good_journal, kind, command):
    config = write_config(tmp_path)
    journal = tmp_path / "journal.sqlite"
    damage(kind, journal, good_journal)
    before = journal.read_bytes()
    result = run_cli(*COMMANDS[command][:1], "--config", str(config), *COMMANDS[command][1:], cwd=tmp_path)
    if command == "kill":
        assert result.returncode == 0, result.stderr[-2000:]
        assert "recorded in halt file" in result.stdout and "journal" in result.stderr
        assert (tmp_path / "journal.sqlite.HALT").is_file() and journal.read_bytes() == before
        return
    assert result.returncode == 2, (kind, command, result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "please report" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "journal" in errors[0], result.stderr[-2000:]
    if kind != "truncated":  # found on open: the file is named and left exactly as it was
        assert str(journal) in errors[0] and "journal.path" in errors[0], errors[0]
        assert journal.read_bytes() == before
    if kind == "newer schema":
        assert "newer bot" in errors[0]


def test_an_empty_file_is_refused_by_readers_and_started_afresh_by_writers(tmp_path):
    config = write_config(tmp_path)
    journal = tmp_path / "journal.sqlite"
    journal.write_bytes(b"")
    status = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert status.returncode == 2 and "is empty" in status.stderr and "Traceback" not in status.stderr
    killed = run_cli("kill", "--config", str(config), "--reason", "test", cwd=tmp_path)  # nothing to lose
    assert killed.returncode == 0, killed.stderr[-2000:]
    assert run_cli("status", "--config", str(config), "--json", cwd=tmp_path).returncode == 0


def test_status_on_a_damaged_journal_still_tells_the_halt_the_file_holds(tmp_path):
    config = write_config(tmp_path)
    (tmp_path / "journal.sqlite").write_bytes(random.Random(5).randbytes(8192))
    assert run_cli("kill", "--config", str(config), "--reason", "disk trouble", cwd=tmp_path).returncode == 0
    for args in (("status",), ("status", "--check")):
        result = run_cli(*args, "--config", str(config), cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "TRADING HALTED (halt file" in result.stderr and "disk trouble" in result.stderr, result.stderr
