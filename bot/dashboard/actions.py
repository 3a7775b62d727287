"""The kill and resume buttons: they run ``python -m bot kill`` / ``resume`` themselves, with this
dashboard's config and journal, so a click does exactly what the command does (halt file, then
journal, then cancel and flatten at Alpaca when keys are in the environment) through the very
same code, ``bot.commands.control``.

In a child process rather than in this one: the broker side imports alpaca-py (and pandas with
it), which would more than double the dashboard's resident memory for good; a child also keeps
the command's console output and logging set-up out of a daemon that may host the dashboard.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

#: longest wait for the command (a flatten retries a slow broker for a while)
TIMEOUT_SECONDS = 120.0
#: longest reason kept from the form
MAX_REASON = 200

_one_at_a_time = threading.Lock()


@dataclass(frozen=True)
class ActionResult:
    """The command's exit code and what it printed (stdout, then stderr)."""

    exit_code: int
    output: str


def command(
    action: str, *, config_path: Path | None, dry_run: bool, reason: str, keep_positions: bool = False
) -> list[str]:
    """The argv of the command a button runs."""
    if action not in ("kill", "resume"):
        raise ValueError(f"unknown action {action!r}")
    argv = [sys.executable, "-m", "bot", action]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    if dry_run:
        argv.append("--dry-run")
    if keep_positions and action == "kill":
        argv.append("--keep-positions")
    return [*argv, "--reason", reason[:MAX_REASON]]


def run_action(argv: list[str], cwd: Path) -> ActionResult:
    """Run one button's command (never two at once); its output is shown on the page."""
    with _one_at_a_time:
        try:
            done = subprocess.run(
                argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            return ActionResult(1, f"{argv[3]} did not finish within {TIMEOUT_SECONDS:g} s")
    return ActionResult(done.returncode, (done.stdout + done.stderr).strip())
