"""Walk-forward evaluation of the LSTM against the naive baselines, out of sample only.

Folds run over the sorted decision times of the labelled samples (all symbols together): fold k
trains on the times before its cut (all of them when ``expanding``, else the last ``train_bars``)
and tests on the next ``test_bars`` times; the model is refitted at every cut (the
folds' fits run concurrently, one per core: each depends only on its data and the seed). The scaler and
every baseline are fitted on the fold's training samples only. A training sample's target is the
return to the next bar, which is known by the first test decision, so nothing leaks.

Pooled over every fold: RMSE, MAE, directional accuracy and IC for the model and the baselines
(zero, persistence, mean, linear), a Diebold-Mariano test of the model against the zero-return
forecast (squared errors; H1: the model's loss is lower), a Pesaran-Timmermann test of its
direction, and a trading view (sign of the forecast, per symbol, at several costs, against buy and
hold; averaged over symbols).

The risk head is refitted at the same cuts on the same samples (its own features, the next bar's
range variance as target, QLIKE loss) and judged against EWMA, HAR and GARCH(1,1)-t fitted on the
same training samples (``bot.forecast.vol_baselines``, ``bot.forecast.vol_metrics``); the
volatility-managed books (``bot.forecast.vol_books``) show what sizing by it earns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from bot.calendar.timeframes import PERIODS_PER_YEAR
from bot.config import ModelConfig
from bot.errors import DataError
from bot.forecast import risk_baselines
from bot.forecast.baselines import make_baselines
from bot.forecast.features import Dataset, Scaler
from bot.forecast.range_variance import forecast_variance, return_variance_ratio
from bot.forecast.stats import diebold_mariano, forecast_metrics, pesaran_timmermann, trading_view
from bot.forecast.vol_books import vol_managed_books
from bot.forecast.vol_metrics import volatility_summary

BASELINE_NAMES = ("zero", "persistence", "mean", "linear")
COSTS_BPS = (0, 5, 10, 20)


@dataclass
class Fold:
    index: int
    train: np.ndarray  # sample indices
    test: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    folds: list[Fold]
    y: np.ndarray  # pooled realised next returns of the test samples
    predictions: dict[str, np.ndarray]  # "model" and each baseline, aligned with y
    symbols: np.ndarray
    ts: Any  # DatetimeIndex of the test samples' decision bars
    features: tuple[str, ...]
    periods_per_year: int
    y_var: np.ndarray = field(default_factory=lambda: np.empty(0))  # realised next range variance
    vol_predictions: dict[str, np.ndarray] = field(default_factory=dict)  # "model", "ewma", "har", "garch"
    return_variance: dict[str, np.ndarray] = field(default_factory=dict)  # "lstm", "ewma": for the books
    risk_features: tuple[str, ...] = ()
    risk_margin: float = 0.0
    vol_target: float = 0.25
    vol_cap: float = 1.0
    band: float = 0.25

    def volatility(self) -> dict[str, Any]:
        """The ``volatility`` block: the risk head against EWMA, HAR and GARCH, and its gate."""
        out = volatility_summary(self.y_var, self.vol_predictions, self.ts.asi8, self.risk_margin)
        return {"features": list(self.risk_features), **out}

    @cached_property
    def _books(self) -> tuple[list[dict], Any]:
        return vol_managed_books(
            ts=self.ts.asi8,
            symbols=self.symbols,
            next_return=self.y,
            variance=self.return_variance,
            costs_bps=COSTS_BPS,
            periods_per_year=self.periods_per_year,
            vol_target=self.vol_target,
            cap=self.vol_cap,
            band=self.band,
        )

    def vol_managed(self) -> tuple[list[dict], Any]:
        """(``trading.vol_managed`` rows, per-day equity of the books at 5 bps), computed once."""
        return self._books

    def summary(self) -> dict[str, Any]:
        """The JSON-ready figures (what ``evaluate --json`` prints)."""
        metrics = {name: forecast_metrics(self.y, pred) for name, pred in self.predictions.items()}
        dm_stat, dm_p = diebold_mariano(self.y - self.predictions["model"], self.y - self.predictions["zero"])
        pt_stat, pt_p = pesaran_timmermann(self.y, self.predictions["model"])
        mse_model = metrics["model"]["rmse"] ** 2
        mse_zero = metrics["zero"]["rmse"] ** 2
        return {
            "n_test": int(len(self.y)),
            "features": list(self.features),
            "folds": [
                {"fold": f.index, "n_train": int(len(f.train)), "n_test": int(len(f.test)), **f.metrics}
                for f in self.folds
            ],
            "model": metrics["model"],
            "baselines": {name: metrics[name] for name in BASELINE_NAMES},
            "mse_improvement_vs_zero": (1 - mse_model / mse_zero) if mse_zero > 0 else None,
            "dm_statistic": dm_stat,
            "dm_pvalue": dm_p,
            "pt_statistic": pt_stat,
            "pt_pvalue": pt_p,
            "trading": self.trading()
            | ({"vol_managed": self.vol_managed()[0]} if self.return_variance else {}),
            **({"volatility": self.volatility()} if self.vol_predictions else {}),
        }

    def trading(self) -> dict[str, Any]:
        """Sign-of-forecast books per cost level, averaged over symbols (equal weight)."""
        per_symbol = []
        for symbol in np.unique(self.symbols):
            mask = self.symbols == symbol
            order = np.argsort(self.ts.asi8[mask], kind="stable")
            if mask.sum() < 2:
                continue
            per_symbol.append(
                trading_view(
                    self.y[mask][order],
                    self.predictions["model"][mask][order],
                    COSTS_BPS,
                    self.periods_per_year,
                )
            )
        out: dict[str, Any] = {"symbols": len(per_symbol), "averaged_over": "symbols, equal weight"}
        for cost in (f"{c:g}" for c in COSTS_BPS):
            out[cost] = {}
            for book in ("long_short", "long_only", "buy_and_hold"):
                books = [view[cost][book] for view in per_symbol]
                out[cost][book] = {
                    key: _mean([b[key] for b in books]) for key in ("total_return", "sharpe", "turnover")
                }
        return out


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(present)) if present else None


def fold_indices(dataset: Dataset, config: ModelConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) sample indices of every fold; raises DataError when no fold fits."""
    labelled = np.flatnonzero(dataset.labelled)
    times = dataset.ts.asi8[labelled]
    unique = np.unique(times)
    if len(unique) <= config.train_bars:
        raise DataError(
            f"{len(unique)} labelled bars are too few for one walk-forward fold: need more than "
            f"model.train_bars = {config.train_bars} (after the {dataset.window}-bar window and warm-up); "
            "use a longer date range or lower model.train_bars"
        )
    folds = []
    for cut in range(config.train_bars, len(unique), config.test_bars):
        lo = 0 if config.expanding else cut - config.train_bars
        end = min(cut + config.test_bars, len(unique))
        train = labelled[(times >= unique[lo]) & (times < unique[cut])]
        test = labelled[(times >= unique[cut]) & (times <= unique[end - 1])]
        folds.append((train, test))
    return folds


def target_scale(y: np.ndarray) -> float:
    """The training targets' standard deviation: the model learns y / scale, which keeps the
    output layer near unit scale (raw returns of ~1e-2 train poorly); predictions are multiplied back."""
    std = float(np.std(y))
    return std if std > 0 else 1.0


FitFunction = Callable[
    ..., tuple[Any, dict]
]  # (X, y, config, progress, times=, head=) -> (NumpyLSTM, history)


def walk_forward(
    dataset: Dataset,
    config: ModelConfig,
    *,
    timeframe: str = "1Day",
    progress: bool = False,
    fit: FitFunction | None = None,
    risk: bool | None = None,
    vol_target: float = 0.25,
    vol_cap: float = 1.0,
    band: float = 0.25,
    while_fitting: Callable[[], Any] | None = None,
    baselines_pool: Any = None,
) -> Evaluation:
    """Refit and test both heads fold by fold; see the module docstring.

    ``dataset`` holds (at least) the columns of ``config.features`` and, with ``risk``, of
    ``config.risk_features``. ``risk=False`` evaluates the return head alone; None (the default)
    evaluates the risk head too when the dataset holds its features. ``while_fitting`` is called
    once the risk baselines' child is forked, just before the fits start: work the caller wants
    done beside them (a thread it starts then cannot stop the fork). ``baselines_pool``: a
    ``bot.forecast.risk_baselines.pool()`` the risk baselines run on (forked earlier by the
    caller; it shuts it down), instead of a worker forked here.
    """
    from bot.forecast.lstm import fit_network

    fit = fit or fit_network
    folds = [Fold(i, train, test) for i, (train, test) in enumerate(fold_indices(dataset, config))]
    returns_view = dataset.select(config.features)
    if risk is None:
        risk = all(name in dataset.features for name in config.risk_features)
    risk_view = dataset.select(config.risk_features) if risk else None
    names = ("model", *BASELINE_NAMES)
    predictions: dict[str, list[np.ndarray]] = {name: [] for name in names}
    vol: dict[str, list[np.ndarray]] = {name: [] for name in ("model", "ewma", "har", "garch", "ratio")}
    # The risk baselines (GARCH above all) start first, in a forked child, so that they run while
    # TensorFlow is imported and the first fits start (bot.forecast.risk_baselines); None when
    # forking is not safe here, and then each risk job computes them on its thread.
    side = (
        risk_baselines.start(risk_view, {f.index: (f.train, f.test) for f in folds}, baselines_pool)
        if risk_view is not None
        else None
    )
    try:
        if while_fitting is not None:
            while_fitting()
        _fit_folds(folds, returns_view, risk_view, config, progress, fit, side, predictions, vol)
    finally:
        if side is not None:
            side.close()
    test_index = np.concatenate([f.test for f in folds])
    tested = dataset.take(test_index)
    vol_predictions, return_variance = {}, {}
    if risk_view is not None:
        vol_predictions = {name: np.concatenate(vol[name]) for name in ("model", "ewma", "har", "garch")}
        return_variance = {
            "lstm": vol_predictions["model"] * np.concatenate(vol["ratio"]),
            "ewma": tested.ewma_ret,
        }
    return Evaluation(
        folds=folds,
        y=tested.y,
        predictions={name: np.concatenate(parts) for name, parts in predictions.items()},
        symbols=tested.symbols,
        ts=tested.ts,
        features=tuple(config.features),
        periods_per_year=PERIODS_PER_YEAR.get(timeframe, 252),
        y_var=tested.y_var,
        vol_predictions=vol_predictions,
        return_variance=return_variance,
        risk_features=tuple(config.risk_features) if risk else (),
        risk_margin=config.risk_gate_margin,
        vol_target=vol_target,
        vol_cap=vol_cap,
        band=band,
    )


def _fit_folds(
    folds: list[Fold],
    returns_view: Dataset,
    risk_view: Dataset | None,
    config: ModelConfig,
    progress: bool,
    fit: FitFunction,
    side: risk_baselines.RiskBaselines | None,
    predictions: dict[str, list[np.ndarray]],
    vol: dict[str, list[np.ndarray]],
) -> None:
    """Fit every fold's heads on one thread per core and gather their forecasts in fold order
    into ``predictions`` and ``vol`` (and each fold's metrics)."""
    from bot.forecast.lstm import usable_cores

    # The fits are independent (each from the seeded initial weights, see bot.forecast.epoch_loop),
    # so their order changes no figure, only how well the pool ends: the largest folds go first
    # (longest first), the risk head before the return head (it tends to run more epochs), so
    # the last jobs are small ones and neither core waits long for the other at the end.
    jobs: dict[int, tuple[Any, Any]] = {}
    with ThreadPoolExecutor(max_workers=usable_cores()) as pool:
        for fold in sorted(folds, key=lambda f: len(f.train), reverse=True):
            risk_job = None
            if risk_view is not None:
                risk_job = pool.submit(
                    _risk_head,
                    risk_view.take(fold.train),
                    risk_view.take(fold.test),
                    config,
                    progress,
                    fit,
                    side is None,
                )
            returns_job = pool.submit(_fold_returns, returns_view, fold, config, progress, fit, len(folds))
            jobs[fold.index] = (returns_job, risk_job)
        for fold in folds:
            returns_job, risk_job = jobs[fold.index]
            fold_predictions, fold.metrics = returns_job.result()
            for name in ("model", *BASELINE_NAMES):
                predictions[name].append(np.asarray(fold_predictions[name], dtype=np.float64))
            if risk_job is not None:
                fold_vol = risk_job.result()
                if side is not None:
                    fold_vol |= side.result(fold.index)
                fold.metrics["risk_epochs"] = fold_vol.pop("epochs")
                for name, values in fold_vol.items():
                    vol[name].append(values)


def _fold_returns(
    view: Dataset, fold: Fold, config: ModelConfig, progress: bool, fit: FitFunction, n_folds: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One fold's return forecasts (the model's and the baselines') and its metrics."""
    train, test = view.take(fold.train), view.take(fold.test)
    if progress:
        print(
            f"fold {fold.index + 1}/{n_folds}: training on {len(train)} windows, testing {len(test)}",
            file=sys.stderr,
        )
    fold_predictions, history = _return_head(train, test, config, progress, fit)
    for name, baseline in make_baselines(mean_k=min(20, view.window)).items():
        baseline.fit(train.X, train.y, train.recent_returns)
        fold_predictions[name] = baseline.predict(test.X, test.recent_returns)
    metrics = {
        "start": test.ts[0].isoformat(),
        "end": test.ts[-1].isoformat(),
        "epochs": history.get("epochs_run"),
        **{name: forecast_metrics(test.y, pred) for name, pred in fold_predictions.items()},
    }
    return fold_predictions, metrics


def _return_head(
    train: Dataset, test: Dataset, config: ModelConfig, progress: bool, fit: FitFunction
) -> tuple[dict[str, np.ndarray], dict]:
    scaler = Scaler.fit(train.decision_rows, train.features)
    y_scale = target_scale(train.y)
    net, history = fit(scaler.transform(train.X), train.y / y_scale, config, progress, times=train.ts.asi8)
    raw = net.predict(scaler.transform(test.X))
    return {"model": raw * y_scale}, history


def variance_scale(y_var: np.ndarray) -> float:
    """The risk head learns ``y_var / scale`` (the training mean), so its output starts near log 1."""
    scale = float(np.nanmean(y_var)) if len(y_var) else 1.0
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def _risk_head(
    train: Dataset, test: Dataset, config: ModelConfig, progress: bool, fit: FitFunction, baselines: bool
) -> dict[str, np.ndarray]:
    """The fold's risk forecasts of the model and EWMA (and, with ``baselines``, HAR and GARCH),
    and each test sample's ratio."""
    scaler = Scaler.fit(train.decision_rows, train.features)
    scale = variance_scale(train.y_var)
    net, history = fit(
        scaler.transform(train.X), train.y_var / scale, config, progress, times=train.ts.asi8, head="risk"
    )
    log_h = net.predict(scaler.transform(test.X))
    ratio = np.ones(len(test))
    for symbol in np.unique(test.symbols):
        mine = train.symbols == symbol
        ratio[test.symbols == symbol] = return_variance_ratio(train.y[mine], train.y_var[mine])
    return {
        "model": forecast_variance(log_h, scale),
        "ewma": test.ewma_rv,
        **(risk_baselines.risk_baselines(train, test) if baselines else {}),
        "ratio": ratio,
        "epochs": history.get("epochs_run"),
    }
