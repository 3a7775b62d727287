"""Helpers for the daemon tests: a real ``python -m bot run`` subprocess, waiting, journal reads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import testkit
from testkit import REPO, key_env, wait_for  # noqa: F401 (wait_for: re-exported for the daemon tests)

KEY, SECRET = "test-key-id", "test-secret"
KEY_ENV = key_env(KEY, SECRET)


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


def query(path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """Read the journal while the daemon writes it: no file or no schema yet is no rows."""
    return testkit.query(path, sql, params, while_starting=True)


def count(path: Path, sql: str, params: tuple = ()) -> int:
    return testkit.count(path, sql, params, while_starting=True)
