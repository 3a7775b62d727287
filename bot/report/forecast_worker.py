"""Draws the evaluation report's files in a process forked when ``evaluate`` starts.

After the last fit the report took about 3 s of one core (five figures, two CSVs written by
pandas) while the other core idled, and loading matplotlib and its fonts took another second on
the command's critical path. ``start`` forks a worker first thing, while the process has one
thread and no TensorFlow (``bot.forecast.fork_safety.fork_is_safe``). At a lower
priority, so that it only takes what the command leaves idle (the loading of the bars runs on one
core), the worker loads matplotlib and draws a throw-away figure. ``draw`` then hands it the
report's jobs (module-level functions and their arguments, pickled through a pipe): it forks a
child for every job but the first (the worker itself has one thread and no TensorFlow), runs the
first, and waits for them, so the parts are drawn on two cores at once.

| step | parent (``ReportWorker``) | worker |
|---|---|---|
| start | ``start()`` forks it (None where forking is not safe) | nice +10, loads matplotlib, warm-up figure |
| job | ``draw(jobs)``: the jobs on the pipe, waits for the answer | back to the parent's priority where allowed; one child per job after the first |
| end | the answer: None, or why it failed | exits |
| stop | ``close()`` without ``draw`` (a failed run): the pipe is closed | EOF: exits |

Nothing is lost when a worker cannot help: ``draw`` returns False (the worker died, a job raised,
``DRAW_TIMEOUT`` passed) and the caller draws every job in process, as without a worker.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bot.forecast.fork_safety import fork_is_safe

#: how much lower the worker's priority is while it warms up (it must not slow the fits' start)
WARM_NICE = 10
#: longest wait for the worker's jobs before drawing them in process instead (seconds)
DRAW_TIMEOUT = 120.0

Job = tuple[Callable[..., Any], tuple[Any, ...]]


class ReportWorker:
    """The forked worker's end of the pipe (see the module docstring)."""

    def __init__(self, process: Any, connection: Any) -> None:
        self._process = process
        self._connection = connection

    def draw(self, jobs: Sequence[Job], timeout: float = DRAW_TIMEOUT) -> bool:
        """Run ``jobs`` (``(function, args)``, picklable) in the worker, concurrently; True when
        every one finished, False when the caller must run them itself."""
        try:
            self._connection.send(list(jobs))
            answer = self._connection.recv() if self._connection.poll(timeout) else "timed out"
        except Exception as exc:  # noqa: BLE001 - the worker died, or the jobs did not pickle
            answer = f"{type(exc).__name__}: {exc}"
        finally:
            self.close()
        if answer is not None:
            import structlog

            structlog.get_logger(__name__).warning(
                "report_worker_failed", reason=answer, fallback="in process"
            )
        return answer is None

    def close(self) -> None:
        """End the worker (after ``draw``, or instead of it)."""
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def start(warm_up: Callable[[], Any]) -> ReportWorker | None:
    """Fork the worker, which calls ``warm_up`` at a low priority and then waits for ``draw``;
    None where forking is not safe (``fork_is_safe``). Call it before starting threads."""
    if not fork_is_safe():
        return None
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs, warm_up), name="report-worker", daemon=True)
    process.start()
    theirs.close()
    return ReportWorker(process, mine)


def _serve(connection: Any, warm_up: Callable[[], Any]) -> None:
    """The worker: warm up, then run the one batch of jobs it is sent (or none, on EOF)."""
    _renice(WARM_NICE)
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - a warm-up only: the jobs themselves raise the real error
        pass
    try:
        jobs = connection.recv()
    except EOFError:  # the command ended without a report
        return
    _renice(-WARM_NICE)  # the parent now waits for the figures: full speed where allowed
    try:
        connection.send(_run_all(jobs))
    except OSError:  # the parent left
        pass


def _renice(increment: int) -> None:
    try:
        os.nice(increment)
    except OSError:  # lowering the niceness needs privileges: then the worker stays lower
        pass


def _run_all(jobs: Sequence[Job]) -> str | None:
    """Run the first job here and each other in a forked child; None when all succeeded."""
    children = []
    try:
        for function, args in jobs[1:]:
            pid = os.fork()
            if pid == 0:  # the child: run the job, report through the exit code only
                code = 0
                try:
                    function(*args)
                except BaseException:  # noqa: BLE001 - any failure: the parent draws it instead
                    traceback.print_exc()
                    code = 1
                os._exit(code)
            children.append(pid)
        if jobs:
            function, args = jobs[0]
            function(*args)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which draws in process
        failure: str | None = f"{type(exc).__name__}: {exc}"
    else:
        failure = None
    for pid in children:
        status = os.waitpid(pid, 0)[1]
        if os.waitstatus_to_exitcode(status) != 0 and failure is None:
            failure = f"a drawing child exited with {os.waitstatus_to_exitcode(status)}"
    return failure
