"""The halt file: the kill switch's second, journal-independent record.

``<journal>.HALT`` beside the journal holds one JSON object (``reason``, ``at``, ``by``,
``keep_positions``). A halt writes it *before* the journal, atomically (temporary file, fsync,
rename, fsync of the folder), so a halt is durable within milliseconds even when the journal is
damaged, locked by another process or on a full disk. While the file exists trading is halted,
whatever the journal says; ``resume`` removes it. A file that exists but cannot be read still
means halted: when in doubt, do not trade.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from bot.journal.atomic_file import atomic_write

SUFFIX = ".HALT"


def halt_file_for(journal_path: str | Path) -> Path:
    path = Path(journal_path)
    return path.with_name(path.name + SUFFIX)


def write_halt_file(path: Path, *, by: str, reason: str, at: str, keep_positions: bool) -> None:
    """Atomically (re)write the halt file; raises OSError when the disk refuses."""
    body = json.dumps(
        {"halted": True, "reason": reason, "at": at, "by": by, "keep_positions": keep_positions}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (body + "\n").encode(), sync_folder=True)


def read_halt_file(path: Path) -> dict[str, Any] | None:
    """The halt file's record, None when there is none; an unreadable file reads as a halt."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return {
            "reason": f"halt file {path} exists but cannot be read ({exc.strerror})",
            "at": None,
            "by": None,
            "keep_positions": False,
        }
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return {
            "reason": f"halt file {path} exists but is damaged",
            "at": None,
            "by": None,
            "keep_positions": False,
        }
    return record


def clear_halt_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
