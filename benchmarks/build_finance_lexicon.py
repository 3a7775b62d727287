"""Learn word valences for the finance sentiment scorer from the TRAIN split of the PhraseBank.

Run: ``.venv/bin/python benchmarks/build_finance_lexicon.py [--search] [--data CSV] [--out TSV]``.
Writes ``bot/news/finance_lexicon.tsv`` (commit it: the scorer loads it; its hash is part of the
scorer's version). Needs ``../shared/data/news/financial_phrasebank.csv``. Rerun it whenever the
rules or the hand-written terms change: the learned valences are fitted on top of them.

Only train rows are ever read: ``train_rows`` drops every row whose 0-based index modulo 5 is 0
(the test split) while reading the file, and nothing else here opens it. Every choice (the ridge
penalty, the target, the minimum count, the label thresholds of the config; and, by the same
procedure, the scorer's ``STOCK_WEIGHT`` and marker valences) is made by 5-fold cross-validation
*inside* the train split; the test split is only for ``benchmarks/sentiment_phrasebank.py``.

The method: each text goes through the scorer's own rules (``sentiment_rules.prepare``), and
each learnable word (not a marker, number, neutral word or VADER modifier, seen in at least
``min_count`` train texts) is a feature. A ridge regression fits the valences so that the sum over
a text's words, plus the valences the scorer fixes by hand (markers, finance terms, and VADER's
own lexicon for the words not learned), is near ``+target`` for positive texts, ``-target`` for
negative ones and 0 for neutral ones: VADER's compound is a monotone function of that sum, so the
fitted valences are in VADER's units (-4..4) and its negation and booster rules still apply.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PHRASEBANK = REPO.parent / "shared" / "data" / "news" / "financial_phrasebank.csv"

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bot.news.sentiment import (  # noqa: E402
    FINANCE_TERMS,
    LEXICON_PATH,
    MODIFIERS,
    NEUTRAL_WORDS,
    SentimentScorer,
    build_lexicon,
)
from bot.news.sentiment_rules import MARKERS, prepare  # noqa: E402

LABELS = ("positive", "negative", "neutral")
Y = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}
PARAMS = {"ridge": 20.0, "target": 3.0, "min_count": 3}  # chosen by --search (see the TSV header)
GRID = {"ridge": [10.0, 20.0, 40.0], "target": [2.5, 3.0, 4.0], "min_count": [2, 3]}
FOLDS = 5
MAX_WORDS = 4000


def is_test_row(index: int) -> bool:
    return index % 5 == 0


def train_rows(path: Path = PHRASEBANK) -> list[tuple[int, str, str]]:
    """(row index, label, text) of the train split only: test rows are dropped while reading."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        return [(i, row["label"], row["news"]) for i, row in enumerate(reader) if not is_test_row(i)]


def learnable(tokens: list[str]) -> set[str]:
    return {
        t
        for t in tokens
        if len(t) > 1
        and t[0].isalpha()
        and not any(c.isdigit() for c in t)
        and t not in MARKERS
        and t not in NEUTRAL_WORDS
        and t not in MODIFIERS
        and t not in FINANCE_TERMS
    }


def learn(
    docs: list[list[str]],
    labels: list[str],
    ridge: float,
    target: float,
    min_count: int,
    stock: dict[str, float],
) -> dict[str, float]:
    """Ridge valences of the learnable words of ``docs`` (token lists from ``prepare``)."""
    counts = Counter(w for doc in docs for w in learnable(doc))  # in how many texts
    frequent = sorted(w for w, n in counts.items() if n >= min_count)
    vocab = sorted(frequent, key=lambda w: -counts[w])[:MAX_WORDS]
    index = {w: k for k, w in enumerate(vocab)}
    fixed = build_lexicon(stock, {})  # what the scorer adds for the words it does not learn
    x = np.zeros((len(docs), len(vocab)))  # VADER sums every occurrence, so: counts
    offset = np.zeros(len(docs))
    for r, doc in enumerate(docs):
        for t in doc:
            if t in index:
                x[r, index[t]] += 1.0
            else:
                offset[r] += fixed.get(t, 0.0)
    y = np.array([Y[label] * target for label in labels]) - offset
    coef = np.linalg.solve(x.T @ x + ridge * np.eye(len(vocab)), x.T @ y)
    return {w: round(float(c), 3) for w, c in zip(vocab, np.clip(coef, -4.0, 4.0)) if abs(c) >= 0.005}


def scores_by_fold(rows: list[tuple[int, str, str]], params: dict) -> np.ndarray:
    """Out-of-fold compound scores: each fold is scored with a lexicon learned on the others."""
    docs = [prepare(text) for _, _, text in rows]
    labels = [label for _, label, _ in rows]
    folds = np.array([(i // 5) % FOLDS for i, _, _ in rows])
    stock = SentimentIntensityAnalyzer().lexicon
    scores = np.zeros(len(rows))
    for k in range(FOLDS):
        fit = np.flatnonzero(folds != k)
        learned = learn([docs[r] for r in fit], [labels[r] for r in fit], stock=stock, **params)
        scorer = SentimentScorer(learned=learned)
        for r in np.flatnonzero(folds == k):
            scores[r] = scorer.score(rows[r][2])
    return scores


def metrics(labels: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1 and the F1 of each class."""
    out = {"accuracy": sum(a == b for a, b in zip(labels, predicted)) / max(1, len(labels))}
    for c in LABELS:
        tp = sum(a == c and b == c for a, b in zip(labels, predicted))
        fp = sum(a != c and b == c for a, b in zip(labels, predicted))
        fn = sum(a == c and b != c for a, b in zip(labels, predicted))
        out[f"f1_{c}"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    out["macro_f1"] = sum(out[f"f1_{c}"] for c in LABELS) / len(LABELS)
    return out


def classify(scores: np.ndarray, positive: float, negative: float) -> list[str]:
    return ["positive" if s >= positive else "negative" if s <= negative else "neutral" for s in scores]


def best_thresholds(scores: np.ndarray, labels: list[str]) -> tuple[float, float, dict[str, float]]:
    """The (positive, negative) thresholds with the best macro-F1 + accuracy on these scores."""
    grid = [round(0.05 * k, 2) for k in range(1, 19)]
    best = max(
        ((p, -n, metrics(labels, classify(scores, p, -n))) for p in grid for n in grid),
        key=lambda t: t[2]["macro_f1"] + t[2]["accuracy"],
    )
    return best


def write_lexicon(learned: dict[str, float], header: list[str], path: Path = LEXICON_PATH) -> None:
    lines = [f"# {line}" for line in header]
    lines += [f"{w}\t{v:.3f}" for w, v in sorted(learned.items(), key=lambda kv: (-abs(kv[1]), kv[0]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="cross-validate every setting of GRID first")
    parser.add_argument("--data", type=Path, default=PHRASEBANK, help="the PhraseBank CSV (label,news)")
    parser.add_argument("--out", type=Path, default=LEXICON_PATH, help="the lexicon file written")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} is absent: the builder needs ../shared/data", file=sys.stderr)
        return 2
    rows = train_rows(args.data)  # the only read of the data: train rows only
    labels = [label for _, label, _ in rows]
    params = dict(PARAMS)
    if args.search:
        results = []
        for values in itertools.product(*GRID.values()):
            candidate = dict(zip(GRID, values))
            p, n, m = best_thresholds(scores_by_fold(rows, candidate), labels)
            results.append((m["macro_f1"] + m["accuracy"], candidate))
            print(
                f"{candidate}  thresholds {p:+.2f}/{n:+.2f}  "
                f"acc {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}"
            )
        params = max(results, key=lambda t: t[0])[1]
        print(f"best: {params}")
    p, n, m = best_thresholds(scores_by_fold(rows, params), labels)
    docs = [prepare(text) for _, _, text in rows]
    learned = learn(docs, labels, stock=SentimentIntensityAnalyzer().lexicon, **params)
    header = [
        "Word valences (VADER units) learned by benchmarks/build_finance_lexicon.py: do not edit by hand.",
        f"Source: Financial PhraseBank, TRAIN split only ({len(rows)} rows whose index % 5 != 0).",
        f"Method: ridge regression, {params}.",
        f"5-fold cross-validation inside train: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}"
        f" with thresholds positive {p:+.2f} / negative {n:+.2f} (the config defaults).",
    ]
    write_lexicon(learned, header, args.out)
    print("\n".join(header))
    print(f"wrote {len(learned)} words to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
