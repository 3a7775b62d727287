"""``python -m bot sentiment [TEXT ...] [--file CSV [--column NAME]] [--json]``: score headlines.

Prints each text's score in [-1, 1] and its label (thresholds from ``[sentiment]`` in the config)
as an aligned table, or with ``--json`` one object per line: ``{"text", "score", "label"}``.
Texts given as arguments come first, then the rows of the CSV column. A missing file or column,
or no text at all, is a ``DataError``: one line on stderr and exit code 2.

Light: standard library, config and VADER only (no pandas, no TensorFlow).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter

from bot.commands.common import load
from bot.errors import DataError

DEFAULT_COLUMN = "title"


def read_column(path: str, column: str) -> list[str]:
    """The values of one column of a CSV file (with a header row), in file order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            names = reader.fieldnames or []
            if column not in names:
                shown = ", ".join(repr(n) for n in names) if names else "none: the file is empty"
                raise DataError(f"{path}: no column {column!r} (columns: {shown}); choose one with --column")
            return [" ".join((row.get(column) or "").split()) for row in reader]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (--file)") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file (--file)") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (--file)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV: {exc}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def collect_texts(args: argparse.Namespace) -> list[str]:
    texts = [" ".join(t.split()) for t in args.texts]
    if args.file is not None:
        texts += read_column(args.file, args.column or DEFAULT_COLUMN)
    elif args.column is not None:
        raise DataError("--column names a column of --file CSV: pass --file too")
    if not texts:
        raise DataError('nothing to score: pass headlines as arguments (python -m bot sentiment "Acme beats '
                        'estimates") or a CSV file with --file CSV [--column NAME]')  # fmt: skip
    return texts


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    texts = collect_texts(args)
    from bot.news.sentiment import SentimentScorer

    sent = config.sentiment
    scorer = SentimentScorer(sent.positive_threshold, sent.negative_threshold)
    scores = scorer.score_many(texts)
    labels = [scorer.label(s) for s in scores]
    if args.json:
        for text, score, label in zip(texts, scores, labels):
            print(json.dumps({"text": text, "score": score, "label": label}, ensure_ascii=False))
    else:
        thresholds = (sent.positive_threshold, sent.negative_threshold)
        print(format_table(texts, scores, labels, scorer.version, *thresholds))
    sys.stdout.flush()
    return 0


def format_table(texts: list[str], scores: list[float], labels: list[str], version: str,
                 positive: float, negative: float) -> str:  # fmt: skip
    lines = [f"{'score':>6}  {'label':<8}  text"]
    lines += [f"{score:+6.3f}  {label:<8}  {text}" for text, score, label in zip(texts, scores, labels)]
    counts = Counter(labels)
    lines.append(f"{len(texts)} text{'s' if len(texts) != 1 else ''}: {counts['positive']} positive, "
                 f"{counts['negative']} negative, {counts['neutral']} neutral "
                 f"(scorer {version}, thresholds {positive:+.2f} / {negative:+.2f})")  # fmt: skip
    return "\n".join(lines)
