"""The kill switch: durable trading state in the journal's ``control`` table (key ``trading``).

``halt`` and ``resume`` are durable writes (the journal commits before returning), so a halt
survives a crash or restart: a halted bot stays halted until someone resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTROL_KEY = "trading"
#: "yes" when the last halt asked to keep positions (``kill --keep-positions``)
KEEP_POSITIONS_KEY = "halt_keep_positions"
HALTED = "halted"
ACTIVE = "active"


@dataclass(frozen=True)
class SwitchState:
    halted: bool
    reason: str | None = None
    at: str | None = None  # ISO UTC time of the last change
    by: str | None = None
    #: the halt asked to keep positions (only cancel orders)
    keep_positions: bool = False

    def __iter__(self):  # unpacks as (halted, reason, at, by)
        return iter((self.halted, self.reason, self.at, self.by))


class KillSwitch:
    """Reads and writes the halt state; ``journal`` is a ``bot.journal.Journal``."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    def halt(self, by: str, reason: str, *, keep_positions: bool = False) -> None:
        # the flag first: a reader that sees HALTED must also see how to halt
        self.journal.set_control(KEEP_POSITIONS_KEY, "yes" if keep_positions else "no", by=by)
        self.journal.set_control(CONTROL_KEY, HALTED, by=by, reason=reason)

    def resume(self, by: str, reason: str = "") -> None:
        self.journal.set_control(CONTROL_KEY, ACTIVE, by=by, reason=reason)

    def state(self) -> SwitchState:
        row = self.journal.get_control(CONTROL_KEY)
        if row is None:
            return SwitchState(False)
        keep = self.journal.get_control(KEEP_POSITIONS_KEY)
        return SwitchState(row["value"] == HALTED, row["reason"] or None, row["updated_at"], row["updated_by"],
                           keep_positions=keep is not None and keep["value"] == "yes")  # fmt: skip

    @property
    def halted(self) -> bool:
        return self.state().halted
