"""Training with two honest gates: evaluate out of sample, fit the final heads, register them.

``train_and_register`` runs the walk-forward evaluation, then fits the final return and risk
networks on every labelled sample (the last ``train_bars`` times when windows roll), and saves
both in one registry folder. Two gates, each with its reason in ``meta.json``:

- the **return head** is active only if its pooled out-of-sample MSE is lower than the zero-return
  forecast's by more than ``model.gate_margin`` (``status``/``reason``, as before);
- the **risk head** is active only if its pooled out-of-sample QLIKE is lower than EWMA's by more
  than ``model.risk_gate_margin`` (``risk_status``/``risk_reason``).

The folder becomes the configuration's active model when either head passes (a strategy then uses
what passed); with neither it is kept as *rejected*. ``force`` activates the return head anyway,
and the reason says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import structlog

from bot.config import PRICE_FEATURES, RISK_FEATURES, ModelConfig
from bot.forecast.features import Dataset, Scaler, build_dataset, union_features
from bot.forecast.range_variance import return_variance_ratio
from bot.forecast.walkforward import target_scale, variance_scale, walk_forward

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TrainOutcome:
    model_id: str
    status: str  # the return head: "active" or "rejected"
    reason: str
    forced: bool
    folder: Path
    summary: dict[str, Any]
    risk_status: str = "rejected"
    risk_reason: str = ""


def make_dataset(
    config: ModelConfig,
    frames: Mapping[str, pd.DataFrame],
    sentiment: Mapping[str, pd.DataFrame] | None,
) -> Dataset:
    names = union_features(config.features, config.risk_features)
    return build_dataset(frames, names, config.window, config.volume_window, sentiment)


def evaluate(
    config: ModelConfig,
    frames: Mapping[str, pd.DataFrame],
    sentiment: Mapping[str, pd.DataFrame] | None,
    *,
    timeframe: str,
    ablation: bool = False,
    progress: bool = False,
    books: Mapping[str, float] | None = None,
    while_fitting: Callable[[], Any] | None = None,
    baselines_pool: Any = None,
) -> tuple[dict[str, Any], Any]:
    """Walk-forward summary (and, with ``ablation``, the price-only model on the same folds and
    seed); returns (summary, evaluation) — the evaluation holds the pooled predictions for plots.
    ``books``: ``vol_target``, ``vol_cap`` and ``band`` of the volatility-managed books (see
    ``book_settings``); ``while_fitting``, ``baselines_pool``: see ``walk_forward``."""
    evaluation = walk_forward(
        make_dataset(config, frames, sentiment),
        config,
        timeframe=timeframe,
        progress=progress,
        while_fitting=while_fitting,
        baselines_pool=baselines_pool,
        **(books or {}),
    )
    summary = evaluation.summary()
    if ablation:
        price = PRICE_FEATURES + RISK_FEATURES
        price_only = tuple(f for f in config.features if f in price) or PRICE_FEATURES
        risk_price_only = tuple(f for f in config.risk_features if f in price) or RISK_FEATURES
        other = replace(config, features=price_only, risk_features=risk_price_only)
        if progress:
            print(
                f"ablation: price-only features {list(price_only)} / risk {list(risk_price_only)}",
                file=sys.stderr,
            )
        base = walk_forward(
            make_dataset(other, frames, None),
            other,
            timeframe=timeframe,
            progress=progress,
            baselines_pool=baselines_pool,
            **(books or {}),
        ).summary()
        summary["ablation"] = {
            "features": {
                "price_only": list(price_only),
                "with_sentiment": list(config.features),
                "risk_price_only": list(risk_price_only),
                "risk_with_sentiment": list(config.risk_features),
            },
            "price_only": _headline(base),
            "with_sentiment": _headline(summary),
        }
    return summary, evaluation


def book_settings(strategy: Any) -> dict[str, float]:
    """The strategy's sizing settings for the evaluation's volatility-managed books."""
    s = strategy.lstm_sentiment
    return {"vol_target": s.vol_target, "vol_cap": s.vol_cap, "band": strategy.rebalance_band}


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("n_test", "model", "mse_improvement_vs_zero", "dm_pvalue", "pt_pvalue")
    out = {k: summary[k] for k in keys} | {"zero": summary["baselines"]["zero"]}
    if "volatility" in summary:
        v = summary["volatility"]
        out["volatility"] = {
            k: v[k]
            for k in (
                "model",
                "baselines",
                "dm_pvalue_vs_ewma",
                "dm_pvalue_vs_har",
                "qlike_improvement_vs_ewma",
                "gate",
                "reason",
            )
        }
    return out


def risk_gate(summary: dict[str, Any]) -> tuple[bool, str]:
    """(passes, reason) for the risk head: the verdict the walk-forward's volatility block reached."""
    volatility = summary.get("volatility")
    if not volatility:
        return False, "no out-of-sample risk evaluation"
    return volatility["gate"] == "active", volatility["reason"]


def gate(summary: dict[str, Any], margin: float) -> tuple[bool, str]:
    """(passes, reason) for the model gate; see the module docstring."""
    improvement = summary.get("mse_improvement_vs_zero")
    if improvement is None:
        return False, "no out-of-sample improvement could be measured"
    numbers = (
        f"out-of-sample MSE {improvement:+.2%} vs the zero-return forecast "
        f"(needed more than {margin:+.2%}); DM p = {summary['dm_pvalue']:.3f}"
    )
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
    books: Mapping[str, float] | None = None,
) -> TrainOutcome:
    """Evaluate (unless ``summary`` is given), fit the final model, save it and apply the gate."""
    from bot.forecast.lstm import fit_model
    from bot.forecast.numpy_lstm import NumpyLSTM
    from bot.forecast.registry import (
        config_key,
        data_hash,
        make_meta,
        mark,
        new_model_id,
        save_model,
        set_active,
    )

    dataset = make_dataset(config, frames, sentiment)
    if summary is None:
        summary = walk_forward(
            dataset, config, timeframe=timeframe, progress=progress, **(books or {})
        ).summary()
    everything = _final_training_set(dataset, config)
    final = everything.select(config.features)
    scaler = Scaler.fit(final.decision_rows, final.features)
    y_scale = target_scale(final.y)
    if progress:
        print(f"final model: training both heads on {len(final)} windows", file=sys.stderr)
    model, history = fit_model(
        scaler.transform(final.X), final.y / y_scale, config, progress, times=final.ts.asi8
    )
    risk_final = everything.select(config.risk_features)
    risk_scaler = Scaler.fit(risk_final.decision_rows, risk_final.features)
    var_scale = variance_scale(risk_final.y_var)
    risk_model, risk_history = fit_model(
        risk_scaler.transform(risk_final.X),
        risk_final.y_var / var_scale,
        config,
        progress,
        times=risk_final.ts.asi8,
        head="risk",
    )
    passes, reason = gate(summary, config.gate_margin)
    risk_passes, risk_reason = risk_gate(summary)
    created = datetime.now(UTC)
    model_id = new_model_id(created, data_hash(final.X, final.y), *config.features)
    meta = make_meta(
        model_id=model_id,
        config=config,
        timeframe=timeframe,
        symbols=list(symbols),
        scaler=scaler,
        training_range=(final.ts[0].to_pydatetime(), final.ts[-1].to_pydatetime()),
        data_hash=data_hash(final.X, final.y),
        metrics=_headline(summary) | {"final_fit": history},
        status="candidate",
        reason=reason,
        created_at=created,
    )
    key = config_key(timeframe, config.features, config.window, config.volume_window, symbols)
    meta["target_scale"] = y_scale
    meta["config_key"] = key
    meta["risk"] = {
        "features": list(config.risk_features),
        "scaler": risk_scaler.to_dict(),
        "variance_scale": var_scale,
        "return_variance_ratio": {
            str(symbol): return_variance_ratio(
                risk_final.y[risk_final.symbols == symbol], risk_final.y_var[risk_final.symbols == symbol]
            )
            for symbol in symbols
        },
        "final_fit": risk_history,
    }
    meta["risk_status"] = "active" if risk_passes else "rejected"
    meta["risk_reason"] = risk_reason
    folder = save_model(
        models_dir,
        model,
        NumpyLSTM.from_keras(model),
        meta,
        risk_model=risk_model,
        risk_numpy=NumpyLSTM.from_keras(risk_model),
    )
    risk_status = meta["risk_status"]
    log.info("risk_head_verdict", model_id=model_id, status=risk_status, reason=risk_reason)
    if passes or force:
        why = reason if passes else f"FORCED active although it {reason}"
        set_active(models_dir, key, model_id, why)
        status, reason = "active", why
        if not passes:
            log.warning("model_forced_active", model_id=model_id, reason=why)
    else:
        status = "rejected"
        log.warning("model_rejected", model_id=model_id, reason=reason)
        if risk_passes:  # the folder serves its configuration for the risk head alone
            set_active(models_dir, key, model_id, reason, status="rejected")
        else:
            mark(models_dir, model_id, "rejected", reason)
    return TrainOutcome(
        model_id, status, reason, force and not passes, folder, summary, risk_status, risk_reason
    )


def _final_training_set(dataset: Dataset, config: ModelConfig) -> Dataset:
    labelled = dataset.take(np.flatnonzero(dataset.labelled))
    if config.expanding:
        return labelled
    times = np.unique(labelled.ts.asi8)
    first = times[max(0, len(times) - config.train_bars)]
    return labelled.take(np.flatnonzero(labelled.ts.asi8 >= first))
