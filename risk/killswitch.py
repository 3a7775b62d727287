"""The kill switch: durable trading state in the journal's ``control`` table (key ``trading``),
doubled by a halt file beside the journal (``risk.halt_file``).

``halt`` writes the halt file first (atomic, fsynced: durable within milliseconds whatever state
the journal is in), then the journal; ``resume`` clears both. While the halt file exists the bot
is halted, whatever the journal says, so a halt that the journal could not take (damaged, locked,
disk full) is still honoured by every order path and the daemon. A halted bot stays halted across
crashes and restarts until someone resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.journal.records import iso
from risk.halt_file import clear_halt_file, halt_file_for, read_halt_file, write_halt_file

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
    """Reads and writes the halt state; ``journal`` is a ``bot.journal.store.Journal`` (or None when it
    cannot be opened: then only the halt file is used). ``halt_file`` defaults to the one beside
    ``journal.path``; journals without a path (test doubles) have none."""

    def __init__(self, journal: Any, halt_file: Path | None = None) -> None:
        self.journal = journal
        path = getattr(journal, "path", None)
        self.halt_file = halt_file if halt_file is not None else (halt_file_for(path) if path else None)

    def halt(self, by: str, reason: str, *, keep_positions: bool = False) -> None:
        """Halt durably: the halt file, then the journal (whose errors still raise, after the file
        has made the halt stick)."""
        self.record_halt_file(by, reason, keep_positions=keep_positions)
        self.record_halt_journal(by, reason, keep_positions=keep_positions)

    def record_halt_file(self, by: str, reason: str, *, keep_positions: bool = False) -> None:
        """The halt file alone (OSError when the disk refuses)."""
        if self.halt_file is not None:
            write_halt_file(
                self.halt_file,
                by=by,
                reason=reason,
                keep_positions=keep_positions,
                at=datetime.now(UTC).isoformat(),
            )

    def record_halt_journal(self, by: str, reason: str, *, keep_positions: bool = False) -> None:
        """The journal alone (its errors raise)."""
        if self.journal is not None:
            # the flag first: a reader that sees HALTED must also see how to halt
            self.journal.set_control(KEEP_POSITIONS_KEY, "yes" if keep_positions else "no", by=by)
            self.journal.set_control(CONTROL_KEY, HALTED, by=by, reason=reason)

    def resume(self, by: str, reason: str = "") -> None:
        """Resume: the journal first, then the halt file (a failure leaves the bot halted)."""
        if self.journal is not None:
            self.journal.set_control(CONTROL_KEY, ACTIVE, by=by, reason=reason)
        if self.halt_file is not None:
            clear_halt_file(self.halt_file)

    def state(self) -> SwitchState:
        record = read_halt_file(self.halt_file) if self.halt_file is not None else None
        if record is not None:
            return SwitchState(
                True,
                record.get("reason"),
                record.get("at"),
                record.get("by"),
                keep_positions=bool(record.get("keep_positions")),
            )
        if self.journal is None:
            return SwitchState(False)
        record = self.journal.control(CONTROL_KEY)
        if record is None:
            return SwitchState(False)
        keep = self.journal.control(KEEP_POSITIONS_KEY)
        return SwitchState(
            record.value == HALTED,
            record.reason or None,
            iso(record.updated_at),  # the stored text
            record.updated_by,
            keep_positions=keep is not None and keep.value == "yes",
        )

    @property
    def halted(self) -> bool:
        return self.state().halted


class RunKillSwitch(KillSwitch):
    """A simulation's own switch, in memory: a trip (daily loss, drawdown) halts the rest of that
    replay and nothing else. A backtest is history: its loss limit must not halt the paper bot
    that shares the journal file, nor the next backtest, and a halted paper bot does not stop
    anyone replaying history. The trip is journaled like any other (a ``halt`` decision)."""

    def __init__(self) -> None:
        super().__init__(None, halt_file=None)
        self._state = SwitchState(False)

    def halt(self, by: str, reason: str, *, keep_positions: bool = False) -> None:
        self._state = SwitchState(
            True, reason, datetime.now(UTC).isoformat(), by, keep_positions=keep_positions
        )

    def resume(self, by: str, reason: str = "") -> None:
        self._state = SwitchState(False)

    def state(self) -> SwitchState:
        return self._state
