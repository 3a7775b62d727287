"""The daemon's heartbeat: a durable row in the journal's ``control`` table (key ``heartbeat``).

The value is the ISO UTC time of the beat, ``updated_by`` says which process (``pid N``) and
``reason`` holds a small JSON object (run id, mode, last bar time). ``status --json`` shows the
time as ``heartbeat_at``; ``status --check`` fails when it is older than
``daemon.heartbeat_max_age_seconds``. Light: standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

HEARTBEAT_KEY = "heartbeat"


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    by: str
    detail: dict[str, Any] = field(default_factory=dict)

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.at).total_seconds()


def beat(journal: Any, detail: dict[str, Any], *, now: datetime | None = None) -> None:
    """Write a heartbeat now (a durable write: it is the proof the daemon's loop is alive)."""
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
