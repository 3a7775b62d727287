"""The risk head's HAR and GARCH baselines of every walk-forward fold, computed beside the fits.

GARCH is the walk-forward's largest cost outside TensorFlow: about 10 CPU-s for 8 folds x 7
symbols on the daily CSVs (``arch``'s optimiser, mostly Python), plus 2 s to import ``arch`` and
SciPy. It needs nothing from TensorFlow, so it can run while TensorFlow is imported (about 5 s on
one core, holding the interpreter lock nearly all the time) and while the first fits start. A thread
would wait for that lock; a child process does not: ``start`` forks one worker and hands it
every fold's inputs, and the walk-forward collects the forecasts fold by fold.

Forking is safe only in a process with one thread and without TensorFlow (a thread holding an
import lock at the fork would deadlock the child; TensorFlow's thread pools would be copied half
way). When either holds (a second walk-forward in the same process, a test run) ``start``
returns None and the caller computes the same function on its own threads, as before. Either way
the same function gets the same inputs: the figures do not depend on where it ran.

A command can fork the worker even earlier (``pool``, first thing): it then loads ``arch`` and
SciPy (2 CPU-s) while the command reads its bars on the other core, and ``start`` queues the
folds on it instead of forking (``start(..., pool=...)``; the caller shuts it down).
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from bot.forecast.fork_safety import fork_is_safe
from bot.forecast.vol_baselines import Har, garch_by_symbol


def risk_baselines(train: Any, test: Any) -> dict[str, np.ndarray]:
    """HAR and GARCH(1,1)-t forecasts of ``test``'s next range variance, fitted on ``train``
    (``bot.forecast.features.Dataset`` views, or what ``inputs`` keeps of them)."""
    return {
        "har": Har().fit(train.har, train.y_var).predict(test.har),
        "garch": garch_by_symbol(
            test.returns, train.symbols, train.position, train.y_var, test.symbols, test.position
        ),
    }


class _Fields:
    """The fields ``risk_baselines`` reads of some samples (what crosses to the child)."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def inputs(view: Any, train: np.ndarray, test: np.ndarray) -> tuple[_Fields, _Fields]:
    """A fold's (train, test) samples of ``view`` (a ``Dataset``) reduced to what
    ``risk_baselines`` reads: a few columns and the symbols' return series, not the windows
    (pickled to the child: kilobytes, not megabytes)."""
    columns = ("har", "y_var", "symbols", "position")
    return (
        _Fields(**{name: getattr(view, name)[train] for name in columns}),
        _Fields(**{name: getattr(view, name)[test] for name in columns}, returns=view.returns),
    )


def _load_arch() -> None:
    """What the worker loads before its first fold (``arch`` imports SciPy's statistics),
    without collecting garbage among the modules it makes (2.2 CPU-s instead of 2.4)."""
    gc.disable()
    try:
        import arch.univariate  # noqa: F401
    finally:
        gc.freeze()
        gc.enable()


def pool() -> ProcessPoolExecutor | None:
    """Fork the baselines' worker now and have it load ``arch``; None when forking is not safe
    here (``fork_is_safe``). Pass it to ``start``; shut it down when done. Call it before
    starting threads (the executor starts one of its own)."""
    if not fork_is_safe():
        return None
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        executor.submit(_load_arch)  # forks the worker, then the executor starts its thread
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    return executor


class RiskBaselines:
    """The folds' baseline forecasts being computed in a forked child (see ``start``)."""

    def __init__(self, executor: ProcessPoolExecutor, jobs: Mapping[int, Future], owned: bool = True) -> None:
        self._executor = executor
        self._jobs = dict(jobs)
        self._owned = owned

    def result(self, fold: int) -> dict[str, np.ndarray]:
        """Fold ``fold``'s forecasts (waits for them; re-raises the child's exception)."""
        return self._jobs[fold].result()

    def close(self) -> None:
        """Stop the child (cancels what has not started; waits for it to exit); a ``pool`` given
        to ``start`` is left running for its owner, with this walk-forward's jobs cancelled."""
        if self._owned:
            self._executor.shutdown(wait=True, cancel_futures=True)
            return
        for job in self._jobs.values():
            job.cancel()


def start(
    view: Any, folds: Mapping[int, tuple[np.ndarray, np.ndarray]], pool: ProcessPoolExecutor | None = None
) -> RiskBaselines | None:
    """Queue ``risk_baselines`` for every fold (index -> (train, test) sample indices of
    ``view``) on ``pool`` (see ``pool()``), or on a worker forked now; None when there is no
    ``pool`` and forking is not safe here (``fork_is_safe``). Without ``pool``, call it before
    starting threads."""
    if pool is not None:
        jobs = {
            index: pool.submit(risk_baselines, *inputs(view, train, test))
            for index, (train, test) in folds.items()
        }
        return RiskBaselines(pool, jobs, owned=False)
    if not fork_is_safe():
        return None
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:  # the first submit forks the worker, before the executor starts its own thread
        jobs = {
            index: executor.submit(risk_baselines, *inputs(view, train, test))
            for index, (train, test) in folds.items()
        }
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    return RiskBaselines(executor, jobs)
