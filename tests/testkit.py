"""Shared test helpers: where the real data is, a tmp config, and running the real CLI.

Imported as ``from testkit import ...`` (tests/ is on pytest's pythonpath); a module of its own
because every folder's conftest.py is imported under the same name "conftest"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def require_shared_data(*parts: str) -> Path:
    """Path inside ../shared/data, or skip the test with a clear reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the real market data in ../shared/data")
    return path


def write_config(directory: Path, extra: str = "") -> Path:
    """A config whose journal, logs and reports live under ``directory`` (repo defaults otherwise)."""
    path = directory / "config.toml"
    path.write_text(
        f"""
[journal]
path = "{directory / 'journal.sqlite'}"
dry_run_path = "{directory / 'dry_run.sqlite'}"
[logging]
dir = "{directory / 'logs'}"
[report]
dir = "{directory / 'reports'}"
{extra}
"""
    )
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run ``python -m bot ARGS`` as a real subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
