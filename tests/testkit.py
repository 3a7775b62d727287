"""Shared test helpers: where the real data is, a tmp config, and running the real CLI.

Imported as ``from testkit import ...`` (tests/ is on pytest's pythonpath); a module of its own
because every folder's conftest.py is imported under the same name "conftest"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def require_shared_data(*parts: str) -> Path:
    """Path inside ../shared/data, or skip the test with a clear reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the real market data in ../shared/data")
    return path


# a model small and quick enough for CLI tests (two epochs, four units)
TINY_MODEL = """
[model]
window = 8
volume_window = 5
units = 4
epochs = 2
batch_size = 256
patience = 1
train_bars = 120
test_bars = 60
"""


# the protections that are on by default, turned off: for tests that check a strategy's own trades
# to the cent, or that a daemon with no loss limit warns (put under a [risk] header)
NO_LOSS_LIMITS = "daily_loss_pct = 0.0\nmax_drawdown_pct = 0.0\nstop_loss_pct = 0.0\n"


def write_config(directory: Path, extra: str = "") -> Path:
    """A config whose journal, logs and reports live under ``directory`` (repo defaults otherwise)."""
    path = directory / "config.toml"
    path.write_text(
        f"""
[journal]
path = "{directory / "journal.sqlite"}"
dry_run_path = "{directory / "dry_run.sqlite"}"
[logging]
dir = "{directory / "logs"}"
[report]
dir = "{directory / "reports"}"
{extra}
"""
    )
    return path


def write_daily_csv(folder: Path, closes: Any, *, spread: float = 0.01, volume: float = 1000) -> Path:
    """``folder`` holding X.csv: one daily bar per business day from 2020-01-02 at these closes
    (open = close, high and low ``spread`` around it); returns the folder (``csv:FOLDER``)."""
    import pandas as pd  # here: most tests that import testkit need no pandas

    folder.mkdir(parents=True, exist_ok=True)
    days = pd.bdate_range("2020-01-02", periods=len(closes))
    bars = {"open": closes, "high": closes * (1 + spread), "low": closes * (1 - spread), "close": closes}
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), **bars, "volume": volume}).to_csv(
        folder / "X.csv", index=False
    )
    return folder


def cli_env(extra: dict | None = None) -> dict:
    """The environment a CLI subprocess runs in: ours, plus ``extra``, with the repo importable."""
    return {**os.environ, **(extra or {}), "PYTHONPATH": str(REPO)}


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run ``python -m bot ARGS`` as a real subprocess; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd or REPO,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


HEAVY_MODULES = ("tensorflow", "keras", "pandas", "matplotlib")

# every variable the bot reads Alpaca keys from (ours first, then alpaca-py's own names)
KEY_VARS = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY")
# an environment with no Alpaca keys at all, whatever the developer's shell holds
NO_KEYS = dict.fromkeys(KEY_VARS, "")


def key_env(key_id: str, secret: str) -> dict[str, str]:
    """The environment that gives the bot these Alpaca keys and no others (alpaca-py's own
    APCA_* names emptied, so a developer's real keys never reach a test)."""
    return {**NO_KEYS, "ALPACA_API_KEY": key_id, "ALPACA_SECRET_KEY": secret}


def write_alpaca_config(
    directory: Path, trading_url: str, data_url: str | None = None, extra: str = "", timeout: float = 2.0
) -> Path:
    """``write_config`` with an ``[alpaca]`` section pointing at local fakes, with a short timeout,
    one retry and a quick backoff so a refused request fails the test fast."""
    data = f'data_url = "{data_url}"\n' if data_url else ""
    alpaca = (
        f'[alpaca]\ntrading_url = "{trading_url}"\n{data}'
        f"timeout_seconds = {timeout}\nmax_retries = 1\nbackoff_seconds = 0.01\n"
    )
    return write_config(directory, alpaca + extra)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def query(path: Path, sql: str, params: tuple = (), *, while_starting: bool = False) -> list[sqlite3.Row]:
    """Rows of ``sql`` from the journal at ``path``, read-only (WAL readers never block a writer).

    ``while_starting``: the journal of a process still starting, where no file or no schema yet
    reads as no rows; otherwise those are errors, so a test cannot pass on a journal never written."""
    if while_starting and not path.exists():
        return []
    if not path.exists():
        raise AssertionError(f"no journal at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the schema is being created
        if while_starting:
            return []
        raise
    finally:
        db.close()


def count(path: Path, sql: str, params: tuple = (), *, while_starting: bool = False) -> int:
    """The first column of the first row of ``sql`` (a COUNT), 0 when there is no row."""
    rows = query(path, sql, params, while_starting=while_starting)
    return int(rows[0][0]) if rows else 0


def heavy_imports(
    *argv: str, env: dict | None = None, heavy: tuple[str, ...] = HEAVY_MODULES
) -> tuple[list[str], str]:
    """Run ``python -m bot ARGV`` in a fresh interpreter (Alpaca keys removed unless ``env`` sets
    them) and return the ``heavy`` modules it imported, with its stdout (to check light commands)."""
    code = (
        "import os, sys, runpy\n"
        f"for k in {KEY_VARS!r}:\n"
        "    os.environ.pop(k, None)\n"
        f"os.environ.update({dict(env or {})!r})\n"
        f"sys.argv = ['bot', *{list(argv)!r}]\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("HEAVY=")]
    assert marker, result.stdout + result.stderr
    found = marker[-1].removeprefix("HEAVY=")
    return (found.split(",") if found else []), result.stdout
