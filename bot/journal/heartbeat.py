"""The daemon's heartbeat: a durable row in the journal's ``control`` table (key ``heartbeat``).

The value is the ISO UTC time of the beat, ``updated_by`` says which process (``pid N``) and
``reason`` holds a small JSON object (run id, mode, last bar time, and who beats: ``host``,
``process_start``, ``state``). ``status --json`` shows the time as ``heartbeat_at``.

Whether the daemon is alive (``liveness``), in this order:

| heartbeat | verdict |
|---|---|
| none | ``none``: no daemon ever ran on this journal |
| ``state`` is ``stopped`` (written by a clean stop, ``mark_stopped``) | ``stopped`` |
| on this host, and its pid is gone or now belongs to another process (start time differs) | ``dead`` |
| older than ``daemon.heartbeat_max_age_seconds`` | ``stale`` |
| otherwise | ``running`` (the only verdict that is alive) |

The process start time is the kernel's (``/proc/<pid>/stat`` field 22, with the boot id), so a
pid reused after a crash is not mistaken for the daemon. Where ``/proc`` is missing only the pid is
checked; a heartbeat from another host is judged by its age alone. Light: standard library only.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

HEARTBEAT_KEY = "heartbeat"
RUNNING, STOPPED = "running", "stopped"

Verdict = Literal["none", "stopped", "dead", "stale", "running"]


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    by: str
    detail: dict[str, Any] = field(default_factory=dict)

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.at).total_seconds()

    @property
    def pid(self) -> int | None:
        """The beating process's id (from ``updated_by``: ``pid N``)."""
        word = self.by.rsplit(" ", 1)[-1]
        return int(word) if self.by.startswith("pid ") and word.isdigit() else None

    @property
    def stopped(self) -> bool:
        return self.detail.get("state") == STOPPED


def _proc(pid: int) -> tuple[str, str] | None:
    """(state letter, ``boot-id:start-ticks``) of a process from ``/proc``; None when unreadable
    (no such process, hidden from us by ``hidepid``, or no ``/proc`` at all)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after its ")"
    fields = stat.rsplit(")", 1)[-1].split()
    return (fields[0], f"{boot}:{fields[19]}") if len(fields) > 19 else None


def process_start(pid: int) -> str | None:
    """``boot-id:start-ticks`` of a process on this host (None when ``/proc`` cannot tell). Two
    processes never share it, even when the pid is reused."""
    found = _proc(pid)
    return None if found is None else found[1]


def process_exists(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` (started at ``start``, when known) still runs on this host; a
    zombie (exited, not yet reaped) does not."""
    found = _proc(pid)
    if found is not None:
        state, now = found
        return state not in ("Z", "X") and (start is None or now == start)
    try:  # no /proc entry: gone, or hidden from us (hidepid, macOS): the pid alone decides
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _identity(state: str) -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "process_start": process_start(pid), "state": state}


def beat(journal: Any, detail: dict[str, Any], *, now: datetime | None = None) -> None:
    """Write a heartbeat now (a durable write: it is the proof the daemon's loop is alive)."""
    _write(journal, {**detail, **_identity(RUNNING)}, now)


def mark_stopped(journal: Any, *, now: datetime | None = None) -> None:
    """A clean stop's last beat: the previous beat's detail with ``state`` ``stopped``, so that
    ``status`` says stopped at once rather than alive until the beat goes stale."""
    last = read_heartbeat(journal)
    detail = dict(last.detail) if last is not None else {}
    _write(journal, {**detail, **_identity(STOPPED)}, now)


def _write(journal: Any, detail: dict[str, Any], now: datetime | None) -> None:
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    journal.set_control(HEARTBEAT_KEY, at, by=f"pid {os.getpid()}", reason=json.dumps(detail, default=str))


def read_heartbeat(journal: Any) -> Heartbeat | None:
    """The last heartbeat, or None when no daemon ever beat in this journal."""
    record = journal.control(HEARTBEAT_KEY)
    if record is None:
        return None
    try:
        detail = json.loads(record.reason) if record.reason else {}
    except ValueError:
        detail = {}
    return Heartbeat(datetime.fromisoformat(record.value), record.updated_by or "", detail)


def liveness(beat: Heartbeat | None, max_age: float, now: datetime | None = None) -> tuple[Verdict, str]:
    """The verdict of the table above and a short reason (empty for ``running``)."""
    if beat is None:
        return "none", "no daemon has run on this journal"
    age = beat.age_seconds(now)
    who = beat.by or "unknown process"
    if beat.stopped:
        return "stopped", f"the daemon ({who}) stopped cleanly {age:.0f} s ago"
    host = beat.detail.get("host")
    pid = beat.pid
    if pid is not None and (host is None or host == socket.gethostname()):
        if not process_exists(pid, beat.detail.get("process_start")):
            return "dead", f"the daemon ({who}) is gone: no such process on this host (killed or crashed)"
    if age > max_age:
        return "stale", f"last heartbeat {age:.0f} s ago (max {max_age:g}) by {who}"
    return "running", ""
