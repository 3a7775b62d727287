"""Sentiment quality and speed on the Financial PhraseBank: stock VADER against our scorer.

Run: ``.venv/bin/python benchmarks/sentiment_phrasebank.py [--repeat N]``. Prints a Markdown table
and writes it to benchmarks/sentiment_results.md. Needs ../shared/data/news/financial_phrasebank.csv.

Split (from ../shared/data/README.md): a row is in the TEST split when its 0-based index modulo 5
is 0 (970 rows), otherwise in TRAIN. Our learned lexicon and every threshold were fitted on train
only (benchmarks/build_finance_lexicon.py), so the test rows are the honest figures; the train rows
are shown, labelled, to make the gap visible. Stock VADER is its compound score with the usual
thresholds at plus/minus 0.05; ours uses the thresholds of the default config. Speed: headlines per
second on one core over all 4,846 sentences, the median of N runs, the two scorers alternating.
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
PHRASEBANK = REPO.parent / "shared" / "data" / "news" / "financial_phrasebank.csv"
RESULTS = REPO / "benchmarks" / "sentiment_results.md"

from build_finance_lexicon import is_test_row, metrics  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bot.config import SentimentConfig  # noqa: E402
from bot.news.sentiment import SentimentScorer  # noqa: E402


def load_rows(path: Path = PHRASEBANK) -> list[tuple[int, str, str]]:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return [(i, row["label"], row["news"]) for i, row in enumerate(csv.DictReader(f))]


def stock_label(compound: float) -> str:
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def throughput(score: Callable[[str], float], texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        score(text)
    return len(texts) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per scorer (median reported)")
    args = parser.parse_args()
    if not PHRASEBANK.exists():
        print(f"{PHRASEBANK} is absent: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    config = SentimentConfig()
    ours = SentimentScorer(config.positive_threshold, config.negative_threshold)
    vader = SentimentIntensityAnalyzer()
    stock_score = lambda text: vader.polarity_scores(text)["compound"]  # noqa: E731
    rows = load_rows()
    texts = [text for _, _, text in rows]

    stock_scores = [stock_score(t) for t in texts]
    our_scores = ours.score_many(texts)
    lines = [
        f"# Sentiment on the Financial PhraseBank ({len(rows)} sentences)",
        "",
        f"Scorer `{ours.version}` (thresholds {config.positive_threshold:+.2f} / "
        f"{config.negative_threshold:+.2f}, the config defaults) against stock VADER (compound, "
        "thresholds +0.05 / -0.05). Test split: rows whose 0-based index % 5 == 0; our lexicon and "
        "thresholds were fitted on the train split only, so its train figures are optimistic.",
        "",
        "| split | scorer | rows | accuracy | macro-F1 | F1 positive | F1 negative | F1 neutral |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for split, wanted in (("test", True), ("train (fitted here)", False)):
        idx = [k for k, (i, _, _) in enumerate(rows) if is_test_row(i) == wanted]
        gold = [rows[k][1] for k in idx]
        for name, predicted in (
            ("stock VADER", [stock_label(stock_scores[k]) for k in idx]),
            ("ours", [ours.label(our_scores[k]) for k in idx]),
        ):
            m = metrics(gold, predicted)
            cells = [m[k] for k in ("accuracy", "macro_f1", "f1_positive", "f1_negative", "f1_neutral")]
            lines.append(f"| {split} | {name} | {len(idx)} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")

    speeds: dict[str, list[float]] = {"stock VADER": [], "ours": []}
    for _ in range(args.repeat):  # alternate, so both see the same machine state
        speeds["stock VADER"].append(throughput(stock_score, texts))
        speeds["ours"].append(throughput(ours.score, texts))
    lines += [
        "",
        f"Speed, one core, all {len(texts):,} sentences, median of {args.repeat} alternating runs "
        f"(Python {platform.python_version()}, {platform.machine()}):",
        "",
        "| scorer | headlines per second |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {statistics.median(v):,.0f} |" for name, v in speeds.items()]
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.write_text(table, encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
