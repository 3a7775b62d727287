"""Shared by ``train`` and ``evaluate``: flags -> config -> bars and sentiment inputs."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from bot.commands.common import apply_data_flags, load, new_run_id, start_logging
from bot.config import Config


def prepare(args: argparse.Namespace, mode: str) -> dict[str, Any]:
    """Load config with flags applied, start logging, read bars and sentiment features."""
    config: Config = apply_data_flags(load(args.config), args)
    run_id = new_run_id()
    start_logging(config, mode, run_id, writable=("report.dir", "model.dir"))

    from bot.data.sources import make_feed
    from bot.engine.simulation import load_history
    from bot.forecast.inputs import needs_sentiment, replay_headlines, sentiment_by_bar

    journal = None
    if config.data.source == "alpaca":  # downloads are cached in the journal, as simulate does
        from bot.journal.store import open_journal

        journal = open_journal(config.resolve(config.journal.path), batch_size=config.journal.batch_size)
    try:
        feed = make_feed(config, journal)
        symbols, timeframe, frames = load_history(config, feed)
    finally:
        if journal is not None:
            journal.close()
    headlines = replay_headlines(config, feed, symbols, frames, timeframe) if needs_sentiment(config) else []
    sentiment = sentiment_by_bar(headlines, frames, timeframe, config) if needs_sentiment(config) else None
    return {
        "config": config,
        "run_id": run_id,
        "feed": feed,
        "symbols": symbols,
        "timeframe": timeframe,
        "frames": frames,
        "sentiment": sentiment,
        "headlines": len(headlines),
        "progress": sys.stderr.isatty(),
    }


def _fmt(value: float | None, spec: str) -> str:
    if value is None:  # keep the column width of the spec (e.g. ">8.3f" -> 8)
        width = re.match(r"[<>^]?(\d*)", spec).group(1)
        return format("n/a", f">{width}") if width else "n/a"
    return format(value, spec)


def format_evaluation(s: dict[str, Any], title: str) -> str:
    lines = [
        title,
        f"  features {', '.join(s['features'])}; {len(s['folds'])} folds, {s['n_test']:,} test windows",
        f"  {'forecast':<12} {'rmse':>10} {'mae':>10} {'dir.acc':>8} {'ic':>7}",
    ]
    rows = {"model (LSTM)": s["model"], **s["baselines"]}
    for name, m in rows.items():
        lines.append(
            f"  {name:<12} {m['rmse']:>10.6f} {m['mae']:>10.6f} {_fmt(m['directional_accuracy'], '>8.3f')} "
            f"{_fmt(m['ic'], '>7.3f')}"
        )
    lines.append(
        f"  MSE vs zero-return: {_fmt(s['mse_improvement_vs_zero'], '+.3%')}; "
        f"Diebold-Mariano p = {s['dm_pvalue']:.3f} (H1: model better); "
        f"Pesaran-Timmermann p = {s['pt_pvalue']:.3f}"
    )
    trading = s["trading"]
    lines.append(
        "  trading the forecast's sign (mean over symbols): cost -> long-only return / sharpe, "
        "buy and hold return"
    )
    for cost in ("0", "5", "10", "20"):
        book, bh = trading[cost]["long_only"], trading[cost]["buy_and_hold"]
        lines.append(
            f"    {cost:>2} bps: {_fmt(book['total_return'], '+.2%')} / {_fmt(book['sharpe'], '.2f')}"
            f"   buy and hold {_fmt(bh['total_return'], '+.2%')}"
        )
    lines += _volatility_lines(s)
    if "ablation" in s:
        a = s["ablation"]
        for name in ("price_only", "with_sentiment"):
            m = a[name]
            lines.append(
                f"  ablation {name:<15} rmse {m['model']['rmse']:.6f}  dir.acc "
                f"{_fmt(m['model']['directional_accuracy'], '.3f')}  MSE vs zero "
                f"{_fmt(m['mse_improvement_vs_zero'], '+.3%')}  DM p {m['dm_pvalue']:.3f}"
            )
            if "volatility" in m:
                v = m["volatility"]
                lines.append(
                    f"  ablation {name:<15} risk head QLIKE {_fmt(v['model']['qlike'], '.4f')}  vs EWMA "
                    f"{_fmt(v['qlike_improvement_vs_ewma'], '+.2%')}  gate {v['gate']}"
                )
    return "\n".join(lines)


def _volatility_lines(s: dict[str, Any]) -> list[str]:
    v = s.get("volatility")
    if not v:
        return []
    lines = [
        f"  risk head (next bar's range variance): {v['gate'].upper()}: {v['reason']}",
        f"  {'forecast':<12} {'qlike':>8} {'rmse_log':>9} {'mz_r2':>7}",
    ]
    for name, m in {"model (LSTM)": v["model"], **v["baselines"]}.items():
        lines.append(
            f"  {name:<12} {_fmt(m['qlike'], '>8.4f')} {_fmt(m['rmse_log'], '>9.3f')} {_fmt(m['mz_r2'], '>7.3f')}"
        )
    rows = s["trading"].get("vol_managed", [])
    if rows:
        lines.append("  volatility-managed books: cost -> return / sharpe / max drawdown / turnover")
        for row in rows:
            lines.append(
                f"    {row['cost_bps']:>2g} bps {row['book']:<13} {_fmt(row['total_return'], '+.2%')} / "
                f"{_fmt(row['sharpe'], '.2f')} / {_fmt(row['max_drawdown'], '.1%')} / "
                f"{_fmt(row['turnover'], '.1f')}"
            )
    return lines
