"""``Strategy.target_path``: a strategy's targets stated for a whole replay up front are, step by
step, what ``targets`` answers at that step, and causal (a step's value is the same whether or not
later bars exist), so the quiet steps that read them (``bot.engine.quiet``) see no later bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.engine.market import MarketView
from strategies.buy_and_hold import BuyAndHold
from strategies.sma_cross import SmaCross


def _frame(closes: np.ndarray, start: str = "2020-01-01") -> pd.DataFrame:
    index = pd.date_range(start, periods=len(closes), freq="D", tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": closes, "high": closes * 1.01, "low": closes * 0.99, "close": closes, "volume": 1.0},
        index=index,
    )


def _market(length: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    # Y starts 30 days late, and repeats closes so that fast == slow happens (the strict ">")
    late = np.repeat(rng.lognormal(3, 0.2, (length - 30) // 3 + 1), 3)[: length - 30]
    return {"X": _frame(rng.lognormal(4, 0.3, length)), "Y": _frame(late, "2020-01-31")}


STRATEGIES = {
    "sma_cross": lambda symbols: SmaCross(symbols, 0.9, fast=3, slow=8),
    "buy_and_hold": lambda symbols: BuyAndHold(symbols, 0.9),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_the_path_is_what_targets_answers_at_every_step(name):
    frames = _market(200)
    strategy = STRATEGIES[name](list(frames))
    stepper = STRATEGIES[name](list(frames))  # never asked for a path: computes every step
    view = MarketView(frames)
    paths = strategy.target_path(view)
    for k in range(len(view)):
        view.advance()
        said = stepper.targets(view)
        assert {s: p[k] for s, p in paths.items() if p[k] is not None} == said, k
        assert strategy.targets(view) == said, k  # a strategy that made the path reads it
    assert any(p[0] is None for p in paths.values())  # Y has no bar yet: no opinion
    assert any(v == 0.0 for v in paths["X"]) or name == "buy_and_hold"


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_the_path_does_not_see_later_bars(name):
    full_frames = _market(200)
    cut_frames = {s: f.iloc[: len(f) - 60] for s, f in full_frames.items()}
    full = STRATEGIES[name](list(full_frames)).target_path(MarketView(full_frames))
    cut = STRATEGIES[name](list(cut_frames)).target_path(MarketView(cut_frames))
    for symbol in full:
        assert cut[symbol] == full[symbol][: len(cut[symbol])]
