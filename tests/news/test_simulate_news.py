"""Headlines in simulations: replayed, scored, journaled and turned into features, end to end."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd

from bot.config import Config, override
from bot.data.sample import SampleFeed
from bot.engine.simulation import run_simulation
from bot.journal.store import open_journal
from bot.news.features import FEATURE_COLUMNS
from bot.news.sentiment import SentimentScorer

from testkit import query, require_shared_data, run_cli, write_config

# sma_cross pinned: these tests are about the news, and it needs no trained model
SPAN = ("--start", "2022-01-03", "--end", "2022-03-31", "--strategy", "sma_cross")


def journal_headlines(directory: Path) -> list[sqlite3.Row]:
    return query(directory / "journal.sqlite", "SELECT * FROM headlines ORDER BY published_at")


def last_run_summary(directory: Path) -> dict:
    return json.loads(query(directory / "journal.sqlite", "SELECT summary FROM runs")[0][0])


def test_simulate_replays_the_sample_headlines_by_default(tmp_path):
    result = run_cli("simulate", "--config", str(write_config(tmp_path)), "--json", *SPAN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["news_source"] == "sample" and summary["headlines"] > 50
    rows = journal_headlines(tmp_path)
    assert len(rows) == summary["headlines"]
    assert {r["source"] for r in rows} == {"sample"}
    assert all(r["score"] is not None and r["label"] for r in rows)
    assert {r["scorer_version"] for r in rows} == {SentimentScorer().version}
    # from the first bar minus the lookback (72 h) to the last decision, never later
    assert rows[0]["published_at"] >= "2021-12-31" and rows[-1]["published_at"] <= summary["end"]
    assert {r["symbols"] for r in rows} >= {"", "ACME", "HOOL"}


def test_simulate_with_news_none_replays_nothing(tmp_path):
    config = str(write_config(tmp_path))
    result = run_cli("simulate", "--config", config, "--news", "none", *SPAN, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 headlines (none)" in result.stdout
    summary = last_run_summary(tmp_path)
    assert summary["headlines"] == 0 and summary["news_source"] is None
    assert journal_headlines(tmp_path) == []


def test_a_bad_news_flag_is_a_config_error(tmp_path):
    config = str(write_config(tmp_path))
    result = run_cli("simulate", "--config", config, "--news", "rss", *SPAN, cwd=tmp_path)
    assert result.returncode == 2 and "news.replay" in result.stderr
    missing = tmp_path / "absent.csv"
    result = run_cli("simulate", "--config", config, "--news", f"csv:{missing}", *SPAN, cwd=tmp_path)
    assert result.returncode == 2 and str(missing) in result.stderr


def test_benzinga_headlines_replay_against_real_daily_bars(tmp_path):
    news = require_shared_data("news", "benzinga_headlines_sample.csv")
    daily = require_shared_data("daily")
    result = run_cli(
        "simulate",
        "--config",
        str(write_config(tmp_path)),
        "--json",
        "--news",
        f"csv:{news}",
        "--source",
        f"csv:{daily}",
        "--symbols",
        "AAPL",
        "--start",
        "2019-01-01",
        "--end",
        "2020-06-30",
        "--strategy",
        "sma_cross",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["headlines"] == 469 and summary["news_source"] == f"csv:{news}"
    rows = journal_headlines(tmp_path)
    assert len(rows) == 469 and {r["symbols"] for r in rows} == {"AAPL"}
    assert all(r["score"] is not None for r in rows)


def test_features_ride_on_the_result_and_leave_trading_unchanged(tmp_path):
    base = override(Config(), "data", "test", start=date(2022, 1, 3), end=date(2022, 6, 30))
    base = override(base, "strategy", "test", name="sma_cross")
    results = {}
    for choice in ("sample", "none"):
        journal = open_journal(tmp_path / f"{choice}.sqlite")
        config = override(base, "news", "test", replay=choice)
        results[choice] = run_simulation(config, SampleFeed(), journal, choice, progress=False)
        journal.close()
    with_news, without = results["sample"], results["none"]
    assert without.sentiment is None and without.headlines == 0
    assert set(with_news.sentiment) == set(with_news.symbols)
    for frame in with_news.sentiment.values():
        assert list(frame.columns) == list(FEATURE_COLUMNS)
        assert frame.index.equals(with_news.equity.index.as_unit("ns")) and not frame.isna().any().any()
        assert frame["sent_count"].sum() > 0
    pd.testing.assert_frame_equal(with_news.equity, without.equity)
    assert [f.client_order_id for f in with_news.fills] == [f.client_order_id for f in without.fills]
