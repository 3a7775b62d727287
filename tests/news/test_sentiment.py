"""The finance sentiment scorer: its rules on hand-written headlines, its figures on the PhraseBank
test split, the lexicon builder's train-only reading, and the ``sentiment`` CLI end to end."""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import SentimentConfig
from bot.news import sentiment
from bot.news.base import Headline
from bot.news.sentiment import SCORER_VERSION, SentimentScorer
from bot.news.sentiment_rules import BAD, GOOD, MINUS, PLUS, prepare

from testkit import REPO, require_shared_data, run_cli, write_config

sys.path.insert(0, str(REPO / "benchmarks"))
import build_finance_lexicon as builder  # noqa: E402


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    config = SentimentConfig()
    return SentimentScorer(config.positive_threshold, config.negative_threshold)


def label_of(scorer: SentimentScorer, text: str) -> str:
    return scorer.label(scorer.score(text))


PAIRS = [  # (positive, negative) headlines that differ only in the financial direction
    ("Acme beats analyst estimates", "Acme misses analyst estimates"),
    ("Acme raises full-year guidance", "Acme cuts full-year guidance"),
    ("Acme raised its outlook for 2024", "Acme lowered its outlook for 2024"),
    ("Goldman upgrades Acme to buy", "Goldman downgrades Acme to sell"),
    ("Acme's net loss narrowed to EUR 2.1 mn", "Acme's net loss widened to EUR 2.1 mn"),
    (
        "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn",
        "Operating profit fell to EUR 8.7 mn from EUR 13.1 mn",
    ),
    (
        "Operating profit went from EUR 8.7 mn to EUR 13.1 mn",
        "Operating profit went from EUR 13.1 mn to EUR 8.7 mn",
    ),
    ("Net sales increased by 12 % to EUR 301 mn", "Net sales decreased by 12 % to EUR 301 mn"),
    ("Revenue grew 8 % year-on-year", "Revenue declined 8 % year-on-year"),
    ("Diluted EPS stood at EUR 0.42 versus EUR 0.25", "Diluted EPS stood at EUR 0.25 versus EUR 0.42"),
    (
        "Operating profit was EUR 9.8 mn , compared to a loss of EUR 12.7 mn",
        "Operating loss totalled EUR 0.3 mn , down from a profit of EUR 5.1 mn",
    ),
    ("Acme returned to profit in the third quarter", "Acme slipped to a net loss in the third quarter"),
    ("Acme cut costs by EUR 20 mn", "Acme cut 1,200 jobs"),
]


@pytest.mark.parametrize(("good", "bad"), PAIRS)
def test_financial_direction_decides_the_label(scorer, good, bad):
    assert label_of(scorer, good) == "positive", (good, prepare(good))
    assert label_of(scorer, bad) == "negative", (bad, prepare(bad))


@pytest.mark.parametrize(
    "text",
    [
        "Acme to lay off 500 workers at its Ohio plant",
        "Acme announces job cuts as demand slows",
        "Acme recalls 200,000 cars over brake defect",
        "Regulators open probe into Acme accounting",
        "Acme files for bankruptcy protection",
        "Acme issues profit warning",
    ],
)
def test_bad_news_events_are_negative(scorer, text):
    assert label_of(scorer, text) == "negative", prepare(text)


def test_negation_turns_a_beat_into_a_miss(scorer):
    beat, no_beat = scorer.score("Acme beat estimates"), scorer.score("Acme did not beat estimates")
    assert scorer.label(beat) == "positive" and scorer.label(no_beat) == "negative"
    assert scorer.label(scorer.score("Acme failed to meet its profit target")) != "positive"


@pytest.mark.parametrize(
    "text",
    [
        "The company will hold its annual general meeting on 5 May , the company said .",
        "According to the company , the new unit will be located in Espoo .",
        "Acme said it will publish its interim report on 28 October .",
        "The offer period for the share tender offer will begin on Monday .",
        "The credit facility has a maturity of five years .",
        "The gross margin is reported under the new accounting standard .",
    ],
)
def test_neutral_corporate_announcements_stay_neutral(scorer, text):
    assert label_of(scorer, text) == "neutral", (scorer.score(text), prepare(text))


def test_neutral_vocabulary_has_no_valence(scorer):
    for word in ("said", "will", "company", "according_to", "share", "interest", "credit", "gross", "tender"):
        assert word not in scorer._vader.lexicon, word
    assert scorer.score("said will company according to") == 0.0


def test_the_rules_put_markers_on_the_right_words():
    assert prepare("Operating profit rose to EUR 13.1 mn from EUR 8.7 mn")[2] == GOOD
    assert GOOD in prepare("Net loss narrowed to EUR 500,000 ( USD 680,000 ) from EUR 5.3 million")
    assert BAD in prepare("Profit before taxes fell from EUR 9 mn to EUR 3 mn")
    assert MINUS in prepare("Acme cut 1,200 jobs") and PLUS in prepare("Acme cut costs by EUR 20 mn")
    assert not {GOOD, BAD, PLUS, MINUS} & set(prepare("Acme set up a new unit in Tampere ."))
    # "up" without a figure, a bracketed currency conversion and a year are not comparisons
    assert not {GOOD, BAD} & set(prepare("Sales were EUR 3 mn ( USD 4 mn ) in 2009 ."))


def test_scores_stay_in_range_and_odd_input_does_not_crash(scorer):
    texts = [
        "",
        "   \n\t ",
        "!!!???",
        "great " * 50 + "!!!!",
        "terrible awful loss " * 50,
        "Nokia 株価が上昇 — café €5 🚀 profit ↑",
        "x" * 100_000,
        "word " * 20_000,
        "12.5 % -3 , , ,",
    ]
    started = time.perf_counter()
    scores = scorer.score_many(texts)
    assert time.perf_counter() - started < 5
    assert all(isinstance(s, float) and -1.0 <= s <= 1.0 for s in scores)
    assert scores[0] == scores[1] == 0.0
    assert scorer.label(scores[0]) == "neutral"


def test_labels_follow_the_thresholds():
    scorer = SentimentScorer(0.3, -0.25)
    labels = [scorer.label(s) for s in (0.3, 0.29, -0.24, -0.25)]
    assert labels == ["positive", "neutral", "neutral", "negative"]
    with pytest.raises(ValueError):
        SentimentScorer(0.1, 0.2)
    assert SentimentScorer().positive_threshold == SentimentConfig().positive_threshold


def test_version_names_the_finance_scorer_and_follows_the_lexicon(tmp_path, monkeypatch, scorer):
    assert SCORER_VERSION.startswith("vader-finance-1+") and scorer.version == SCORER_VERSION
    other = tmp_path / "finance_lexicon.tsv"
    other.write_text("profit\t1.0\n")
    monkeypatch.setattr(sentiment, "LEXICON_PATH", other)
    assert sentiment._version() != SCORER_VERSION


def test_a_scored_headline_carries_score_label_and_version(scorer):
    now = datetime(2024, 1, 2, tzinfo=UTC)
    h = Headline("test", "1", "Acme beats estimates, raises guidance", now, now).scored(scorer)
    assert h.label == "positive" and 0 < h.score <= 1 and h.scorer_version == SCORER_VERSION


# -- the PhraseBank acceptance figures -------------------------------------------------------------


def _f1s(gold: list[str], predicted: list[str]) -> tuple[float, float]:
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
    f1 = []
    for c in ("positive", "negative", "neutral"):
        tp = sum(g == c and p == c for g, p in zip(gold, predicted))
        wrong = sum((g == c) != (p == c) for g, p in zip(gold, predicted))
        f1.append(2 * tp / (2 * tp + wrong) if tp else 0.0)
    return accuracy, sum(f1) / 3


def test_phrasebank_test_split_figures_beat_the_targets_and_stock_vader(scorer):
    path = require_shared_data("news", "financial_phrasebank.csv")
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        test = [(row["label"], row["news"]) for i, row in enumerate(csv.DictReader(f)) if i % 5 == 0]
    assert len(test) == 970
    gold = [label for label, _ in test]
    accuracy, macro_f1 = _f1s(gold, [scorer.label(s) for s in scorer.score_many([t for _, t in test])])
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    stock = [vader.polarity_scores(t)["compound"] for _, t in test]
    stock_labels = ["positive" if s >= 0.05 else "negative" if s <= -0.05 else "neutral" for s in stock]
    stock_accuracy, stock_f1 = _f1s(gold, stock_labels)
    assert macro_f1 >= 0.72 and accuracy >= 0.75, (accuracy, macro_f1)
    assert accuracy > stock_accuracy and macro_f1 > stock_f1, (stock_accuracy, stock_f1)


# -- the lexicon builder reads train rows only ----------------------------------------------------


def _phrasebank_like(path: Path, rows: int) -> None:
    """Test rows (index % 5 == 0) say "zzleak"; train rows say "yytrain" (positive) or nothing."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["label", "news"])
        for i in range(rows):
            if i % 5 == 0:
                out.writerow(["negative", "zzleak zzleak results announced"])
            elif i % 2:
                out.writerow(["positive", "yytrain results announced"])
            else:
                out.writerow(["neutral", "results announced for the period"])


def test_train_rows_never_include_a_test_row(tmp_path):
    _phrasebank_like(tmp_path / "pb.csv", 23)
    rows = builder.train_rows(tmp_path / "pb.csv")
    assert [i for i, _, _ in rows] == [i for i in range(23) if i % 5]
    assert not any("zzleak" in text for _, _, text in rows)


def test_the_real_train_split_is_the_documented_one():
    rows = builder.train_rows(require_shared_data("news", "financial_phrasebank.csv"))
    assert len(rows) == 3876 and all(i % 5 != 0 for i, _, _ in rows)


def test_the_builder_learns_from_train_rows_only(tmp_path, capsys):
    _phrasebank_like(tmp_path / "pb.csv", 60)
    out = tmp_path / "lexicon.tsv"
    assert builder.main(["--data", str(tmp_path / "pb.csv"), "--out", str(out)]) == 0
    learned = sentiment.load_learned(out)
    assert learned.get("yytrain", 0) > 0 and "zzleak" not in learned
    assert "TRAIN split only (48 rows" in out.read_text()


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_json_prints_one_object_per_text(tmp_path):
    texts = ["Acme beats estimates, raises guidance", "Globex recalls 2m cars", "Initech names new CFO"]
    result = run_cli("sentiment", *texts, "--json", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objects] == texts
    for o in objects:
        assert set(o) == {"text", "score", "label"}
        assert isinstance(o["score"], float) and -1 <= o["score"] <= 1
    assert [o["label"] for o in objects] == ["positive", "negative", "neutral"]


def test_cli_table_is_aligned_and_labelled(tmp_path):
    result = run_cli(
        "sentiment", "Acme misses estimates", "Acme beats estimates", "--config", str(write_config(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["score", "label", "text"]
    assert lines[1].split()[1:3] == ["negative", "Acme"] and lines[2].split()[1] == "positive"
    assert lines[1].index("Acme") == lines[2].index("Acme")  # aligned
    assert "2 texts: 1 positive, 1 negative, 0 neutral" in lines[3]


def test_cli_scores_a_csv_column_and_arguments_together(tmp_path):
    data = tmp_path / "headlines.csv"
    data.write_text(
        'headline,date\nAcme beats estimates,2024-01-02\n"Acme cuts guidance, shares fall",2024-01-03\n'
    )
    config = str(write_config(tmp_path))
    result = run_cli(
        "sentiment",
        "Initech names new CFO",
        "--file",
        str(data),
        "--column",
        "headline",
        "--json",
        "--config",
        config,
    )
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objects] == [
        "Initech names new CFO",
        "Acme beats estimates",
        "Acme cuts guidance, shares fall",
    ]
    assert [o["label"] for o in objects] == ["neutral", "positive", "negative"]
    data.write_text("title\nAcme beats estimates\n")  # the default column is "title"
    result = run_cli("sentiment", "--file", str(data), "--json", "--config", config)
    assert result.returncode == 0 and json.loads(result.stdout)["label"] == "positive"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--file", "{csv}", "--column", "nope"], ["no column 'nope'", "headlines.csv"]),
        (["--file", "{missing}"], ["missing.csv", "not found"]),
        ([], ["nothing to score", "--file"]),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path, args, expected):
    data = tmp_path / "headlines.csv"
    data.write_text("headline\nAcme beats estimates\n")
    args = [a.format(csv=data, missing=tmp_path / "missing.csv") for a in args]
    result = run_cli("sentiment", *args, "--config", str(write_config(tmp_path)))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert all(part in result.stderr for part in expected), result.stderr
    assert result.stdout == ""
