"""``python -m bot sentiment [TEXT ...] [--file CSV [--column NAME]] [--json]``: score headlines.

Prints each text's score in [-1, 1] and its label (thresholds from ``[sentiment]`` in the config)
as an aligned table, or with ``--json`` one object per line: ``{"text", "score", "label"}``.
Texts given as arguments come first, then the rows of the CSV column, which are read, scored
and printed in chunks (the first lines appear at once, memory stays bounded however large the
file). A missing file or column, a NUL byte or broken quoting (naming the line), or no text at
all, is a ``DataError``: one line on stderr and exit code 2.

Light: standard library, config and VADER only (no pandas, no TensorFlow).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from collections import Counter
from collections.abc import Iterator

from bot.commands.common import load
from bot.errors import DataError

DEFAULT_COLUMN = "title"


CHUNK = 256  # rows scored and printed at a time


def iter_column(path: str, column: str) -> Iterator[str]:
    """The values of one column of a CSV file (with a header row), in file order, lazily."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, strict=True)
            names = reader.fieldnames or []
            if column not in names:
                shown = ", ".join(repr(n) for n in names) if names else "none: the file is empty"
                raise DataError(f"{path}: no column {column!r} (columns: {shown}); choose one with --column")
            try:
                for row in reader:
                    value = row.get(column) or ""
                    if "\x00" in value:
                        raise DataError(f"{path}: line {reader.line_num}: a NUL byte in column {column!r}")
                    yield " ".join(value.split())
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
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


def iter_texts(args: argparse.Namespace) -> Iterator[str]:
    texts = [" ".join(t.split()) for t in args.texts]
    if args.file is None and args.column is not None:
        raise DataError("--column names a column of --file CSV: pass --file too")
    rows = iter_column(args.file, args.column or DEFAULT_COLUMN) if args.file is not None else iter(())
    first = next(rows, None)  # opens the file now: a missing file or column fails before any output
    if not texts and first is None:
        raise DataError(
            'nothing to score: pass headlines as arguments (python -m bot sentiment "Acme beats '
            'estimates") or a CSV file with --file CSV [--column NAME]'
        )
    return itertools.chain(texts, [first] if first is not None else [], rows)


def run(args: argparse.Namespace) -> int:
    config = load(args.config)
    texts = iter_texts(args)
    from bot.news.sentiment import SentimentScorer

    sent = config.sentiment
    scorer = SentimentScorer(sent.positive_threshold, sent.negative_threshold)
    counts: Counter[str] = Counter()
    if not args.json:
        print(f"{'score':>6}  {'label':<8}  text")
    while chunk := list(itertools.islice(texts, CHUNK)):
        scores = scorer.score_many(chunk)
        for text, score in zip(chunk, scores):
            label = scorer.label(score)
            counts[label] += 1
            if args.json:
                print(json.dumps({"text": text, "score": score, "label": label}, ensure_ascii=False))
            else:
                print(f"{score:+6.3f}  {label:<8}  {text}")
        sys.stdout.flush()
    if not args.json:
        print(summary_line(counts, scorer.version, sent.positive_threshold, sent.negative_threshold))
    sys.stdout.flush()
    return 0


def summary_line(counts: Counter, version: str, positive: float, negative: float) -> str:
    total = sum(counts.values())
    return (
        f"{total} text{'s' if total != 1 else ''}: {counts['positive']} positive, "
        f"{counts['negative']} negative, {counts['neutral']} neutral "
        f"(scorer {version}, thresholds {positive:+.2f} / {negative:+.2f})"
    )
