"""One daemon per journal: an exclusive ``flock`` on ``JOURNAL.lock``.

The operating system drops the lock when the process dies, ``kill -9`` included, so a leftover
file never blocks a restart; the pid written inside only makes the error message useful.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.errors import AlreadyRunning


class DaemonLock:
    def __init__(self, journal_path: Path) -> None:
        self.path = journal_path.with_name(journal_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``AlreadyRunning`` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another daemon (pid {holder}) is running on {self.path.with_suffix('')}: "
                "stop it first (SIGTERM) or point journal.path elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
