"""Training with an honest gate: evaluate out of sample, fit the final model, register it.

``train_and_register`` runs the walk-forward evaluation, then fits the final model on every
labelled sample (the last ``train_bars`` times when windows roll), and saves it in the registry.
The gate: the model becomes *active* for its configuration only if its pooled out-of-sample MSE is
lower than the zero-return forecast's by more than ``model.gate_margin`` (a fraction); otherwise it
is kept as *rejected* with the reason, and strategies that need it stay flat. ``force`` activates
it anyway, and the reason says so.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import structlog

from bot.config import PRICE_FEATURES, ModelConfig
from bot.forecast.features import Dataset, Scaler, build_dataset
from bot.forecast.walkforward import target_scale, walk_forward

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TrainOutcome:
    model_id: str
    status: str  # "active" or "rejected"
    reason: str
    forced: bool
    folder: Path
    summary: dict[str, Any]


def make_dataset(
    config: ModelConfig,
    frames: Mapping[str, pd.DataFrame],
    sentiment: Mapping[str, pd.DataFrame] | None,
) -> Dataset:
    return build_dataset(frames, config.features, config.window, config.volume_window, sentiment)


def evaluate(
    config: ModelConfig,
    frames: Mapping[str, pd.DataFrame],
    sentiment: Mapping[str, pd.DataFrame] | None,
    *,
    timeframe: str,
    ablation: bool = False,
    progress: bool = False,
) -> tuple[dict[str, Any], Any]:
    """Walk-forward summary (and, with ``ablation``, the price-only model on the same folds and
    seed); returns (summary, evaluation) — the evaluation holds the pooled predictions for plots."""
    evaluation = walk_forward(make_dataset(config, frames, sentiment), config, timeframe=timeframe,
                              progress=progress)  # fmt: skip
    summary = evaluation.summary()
    if ablation:
        price_only = tuple(f for f in config.features if f in PRICE_FEATURES) or PRICE_FEATURES
        other = replace(config, features=price_only)
        if progress:
            print(f"ablation: price-only features {list(price_only)}", file=sys.stderr)
        base = walk_forward(make_dataset(other, frames, sentiment), other, timeframe=timeframe,
                            progress=progress).summary()  # fmt: skip
        summary["ablation"] = {
            "features": {"price_only": list(price_only), "with_sentiment": list(config.features)},
            "price_only": _headline(base),
            "with_sentiment": _headline(summary),
        }
    return summary, evaluation


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("n_test", "model", "mse_improvement_vs_zero", "dm_pvalue", "pt_pvalue")
    return {k: summary[k] for k in keys} | {"zero": summary["baselines"]["zero"]}


def gate(summary: dict[str, Any], margin: float) -> tuple[bool, str]:
    """(passes, reason) for the model gate; see the module docstring."""
    improvement = summary.get("mse_improvement_vs_zero")
    if improvement is None:
        return False, "no out-of-sample improvement could be measured"
    numbers = (f"out-of-sample MSE {improvement:+.2%} vs the zero-return forecast "
               f"(needed more than {margin:+.2%}); DM p = {summary['dm_pvalue']:.3f}")  # fmt: skip
    if improvement > margin:
        return True, f"beats zero-return: {numbers}"
    return False, f"does not beat zero-return: {numbers}"


def train_and_register(
    config: ModelConfig,
    frames: Mapping[str, pd.DataFrame],
    sentiment: Mapping[str, pd.DataFrame] | None,
    *,
    models_dir: Path,
    timeframe: str,
    symbols: Sequence[str],
    force: bool = False,
    progress: bool = False,
    summary: dict[str, Any] | None = None,
) -> TrainOutcome:
    """Evaluate (unless ``summary`` is given), fit the final model, save it and apply the gate."""
    from bot.forecast.lstm import fit_model
    from bot.forecast.numpy_lstm import NumpyLSTM
    from bot.forecast.registry import config_key, data_hash, make_meta, mark, new_model_id, save_model, set_active

    dataset = make_dataset(config, frames, sentiment)
    if summary is None:
        summary = walk_forward(dataset, config, timeframe=timeframe, progress=progress).summary()
    final = _final_training_set(dataset, config)
    scaler = Scaler.fit(final.decision_rows, dataset.features)
    y_scale = target_scale(final.y)
    if progress:
        print(f"final model: training on {len(final)} windows", file=sys.stderr)
    model, history = fit_model(scaler.transform(final.X), final.y / y_scale, config, progress,
                               times=final.ts.asi8)  # fmt: skip
    passes, reason = gate(summary, config.gate_margin)
    created = datetime.now(UTC)
    model_id = new_model_id(created, data_hash(final.X, final.y), *config.features)
    meta = make_meta(
        model_id=model_id, config=config, timeframe=timeframe, symbols=list(symbols), scaler=scaler,
        training_range=(final.ts[0].to_pydatetime(), final.ts[-1].to_pydatetime()),
        data_hash=data_hash(final.X, final.y), metrics=_headline(summary) | {"final_fit": history},
        status="candidate", reason=reason, created_at=created,
    )  # fmt: skip
    key = config_key(timeframe, config.features, config.window, config.volume_window, symbols)
    meta["target_scale"] = y_scale
    meta["config_key"] = key
    folder = save_model(models_dir, model, NumpyLSTM.from_keras(model), meta)
    if passes or force:
        why = reason if passes else f"FORCED active although it {reason}"
        set_active(models_dir, key, model_id, why)
        status, reason = "active", why
        if not passes:
            log.warning("model_forced_active", model_id=model_id, reason=why)
    else:
        mark(models_dir, model_id, "rejected", reason)
        status = "rejected"
        log.warning("model_rejected", model_id=model_id, reason=reason)
    return TrainOutcome(model_id, status, reason, force and not passes, folder, summary)


def _final_training_set(dataset: Dataset, config: ModelConfig) -> Dataset:
    labelled = dataset.take(np.flatnonzero(dataset.labelled))
    if config.expanding:
        return labelled
    times = np.unique(labelled.ts.asi8)
    first = times[max(0, len(times) - config.train_bars)]
    return labelled.take(np.flatnonzero(labelled.ts.asi8 >= first))
