"""Helpers for the daemon tests: a real ``python -m bot run`` subprocess, waiting, journal reads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testkit import REPO

KEY, SECRET = "test-key-id", "test-secret"
KEY_ENV = {
    "ALPACA_API_KEY": KEY,
    "ALPACA_SECRET_KEY": SECRET,
    "APCA_API_KEY_ID": "",
    "APCA_API_SECRET_KEY": "",
}


class Daemon:
    """``python -m bot run ARGS`` in its own process; output goes to files under ``folder``."""

    def __init__(
        self, folder: Path, *args: str, env: dict[str, str] | None = None, name: str = "daemon"
    ) -> None:
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        full_env = {**os.environ, **KEY_ENV, **(env or {}), "PYTHONPATH": str(REPO)}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", *args], cwd=folder, env=full_env, stdout=out, stderr=err
            )

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds to exit)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def query(path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """Read the journal while the daemon writes it (WAL readers never block the writer)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the schema is being created
        return []
    finally:
        db.close()


def count(path: Path, sql: str, params: tuple = ()) -> int:
    rows = query(path, sql, params)
    return int(rows[0][0]) if rows else 0
