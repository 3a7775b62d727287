"""A daemon job's failure: logged and survived, except a journal that refuses writes for good,
which stops the daemon (nothing may be traded that cannot be recorded)."""

from __future__ import annotations

from structlog.testing import capture_logs

from bot.daemon.schedule import guarded
from bot.errors import JournalError


def failing(error: Exception):
    def job() -> None:
        raise error

    return job


def test_a_full_disk_goes_to_on_fatal_once_and_a_lock_is_tried_again_next_time():
    fatal: list[JournalError] = []
    full = JournalError("journal.path: j.sqlite is on a full disk (database or disk is full)")
    locked = JournalError("journal.path: j.sqlite locked by another process for more than 10 s", passing=True)
    with capture_logs() as logs:
        guarded("bars", failing(full), fatal.append)()
        guarded("bars", failing(locked), fatal.append)()
        guarded("bars", failing(RuntimeError("a bug")), fatal.append)()
    assert fatal == [full]
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("journal_unusable", "error"),
        ("job_failed", "error"),
        ("job_failed", "error"),
    ]
    assert (
        "exc_info" not in logs[1] and logs[2]["exc_info"] is True
    )  # the lock needs no traceback; a bug does
