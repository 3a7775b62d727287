"""``run_simulation``'s ``on_result``: the caller gets the finished result before the run's last
journal writes are done (the ``simulate`` command's figure is drawn meanwhile), the run's time
still counts them, and every row is journaled when the run returns."""

from __future__ import annotations

import numpy as np

from bot.config import load_config, override
from bot.data.sources import make_feed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal

from testkit import write_config, write_daily_csv


def test_the_result_comes_before_the_last_writes_and_every_row_is_journaled_after(tmp_path):
    rng = np.random.default_rng(4)
    folder = write_daily_csv(tmp_path / "bars", 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 120))))
    config = override(load_config(write_config(tmp_path)), "data", "test", source=f"csv:{folder}")
    config = override(config, "strategy", "test", name="sma_cross")
    seen = []
    with open_journal(tmp_path / "journal.sqlite") as journal:

        def hook(result):
            seen.append((result, result.elapsed_seconds))

        result = run_simulation(config, make_feed(config), journal, "hook", progress=False, on_result=hook)
        bars = journal.query("SELECT COUNT(*) FROM bars")[0][0]
        equity = journal.query("SELECT COUNT(*) FROM equity WHERE run_id = 'hook'")[0][0]
    [(given, elapsed_then)] = seen
    assert given is result and len(result.equity) == 120 and result.fills  # the whole result
    assert elapsed_then == 0.0 and result.elapsed_seconds > 0  # its time counts the writes after
    assert (bars, equity) == (120, 120)  # all written by the time the run returns
