"""The kill switch: durable trading state in the journal's ``control`` table (key ``trading``).

``halt`` and ``resume`` are durable writes (the journal commits before returning), so a halt
survives a crash or restart: a halted bot stays halted until someone resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTROL_KEY = "trading"
HALTED = "halted"
ACTIVE = "active"


@dataclass(frozen=True)
class SwitchState:
    halted: bool
    reason: str | None = None
    at: str | None = None  # ISO UTC time of the last change
    by: str | None = None

    def __iter__(self):  # unpacks as (halted, reason, at, by)
        return iter((self.halted, self.reason, self.at, self.by))


class KillSwitch:
    """Reads and writes the halt state; ``journal`` is a ``bot.journal.Journal``."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    def halt(self, by: str, reason: str) -> None:
        self.journal.set_control(CONTROL_KEY, HALTED, by=by, reason=reason)

    def resume(self, by: str, reason: str = "") -> None:
        self.journal.set_control(CONTROL_KEY, ACTIVE, by=by, reason=reason)

    def state(self) -> SwitchState:
        row = self.journal.get_control(CONTROL_KEY)
        if row is None:
            return SwitchState(False)
        return SwitchState(row["value"] == HALTED, row["reason"] or None, row["updated_at"], row["updated_by"])

    @property
    def halted(self) -> bool:
        return self.state().halted
