"""What a journal file that refuses to be used is told as: one line naming the config key and the
file, and why (locked, full disk, read-only, damaged). Standard library only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: how long a write waits for another process's lock before the journal is reported busy
BUSY_SECONDS = 10.0


def unusable(key: str, path: Path, exc: sqlite3.DatabaseError) -> str:
    """One line saying why the journal at ``path`` cannot be used, naming its config key."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        why = f"locked by another process for more than {BUSY_SECONDS:g} s (try again, or stop that process)"
    elif "full" in text:
        why = (
            f"is on a full disk ({text}): everything up to the last completed write is kept; "
            "free space, then start again"
        )
    elif "readonly" in text or "read-only" in text:
        why = f"cannot be written ({text}): check the file's and its folder's permissions"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        why = f"damaged or not a journal ({text}); move it aside to start a new one"
    else:
        why = f"cannot be used ({text})"
    return f"{key}: {path} {why}"
