"""Sentiment scorer: VADER tuned for financial news.

Contract: ``score(text)`` is VADER's compound score in [-1, 1]; ``label(score)`` maps it to
positive / negative / neutral with the configured thresholds; ``version`` changes whenever the
lexicon or rules change, so journaled scores say which scorer made them.

The engine is vaderSentiment's ``SentimentIntensityAnalyzer`` and its compound score. What changes
is what it reads and the lexicon it reads it with:

- before VADER, ``sentiment_rules.prepare`` turns the text into lower-case tokens and replaces the
  financial directions it understands ("operating profit rose ... from", "net loss narrowed", "beat
  estimates", "cut its guidance", "cut 1,200 jobs") with marker tokens (``fingood`` / ``finbad``
  for results, ``finplus`` / ``finminus`` for other figures);
- VADER's lexicon, in order of precedence: the markers and ``FINANCE_TERMS`` below (hand-written);
  then ``finance_lexicon.tsv``, word valences learned from the *train* split of the Financial
  PhraseBank by ``benchmarks/build_finance_lexicon.py``; then VADER's own lexicon at half weight.
  Words of ``NEUTRAL_WORDS`` ("said", "will", "company", ...) are removed: they never push a score;
- after VADER, nothing but a clamp to [-1, 1]. Only the first ``MAX_CHARS`` characters are read.

Speed: about a quarter of stock VADER's (the finance lexicon makes more words count), several
thousand headlines per second on one core (benchmarks/sentiment_results.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SentimentIntensityAnalyzer

from bot.config import SentimentConfig
from bot.news import sentiment_rules
from bot.news.sentiment_rules import BAD, GOOD, MINUS, PLUS, prepare

LEXICON_PATH = Path(__file__).with_name("finance_lexicon.tsv")
SCORER_BASE_VERSION = "vader-finance-1"
RESULT_VALENCE = 3.0  # the markers of results: profit, loss, margin, guidance, estimates
FIGURE_VALENCE = 2.0  # the markers of other figures: sales, orders, costs, jobs, index
# VADER's own valences count half for the words the finance lexicons leave alone: many are other
# senses in financial news. (5-fold cross-validation inside the train split: accuracy 0.786 and
# macro-F1 0.752 at 0.5, against 0.772 and 0.740 at full weight.)
STOCK_WEIGHT = 0.5

FINANCE_TERMS: dict[str, float] = {
    GOOD: RESULT_VALENCE,
    BAD: -RESULT_VALENCE,
    PLUS: FIGURE_VALENCE,
    MINUS: -FIGURE_VALENCE,
    # analysts and markets
    "upgrade": 2.0,
    "upgraded": 2.0,
    "upgrades": 2.0,
    "downgrade": -2.0,
    "downgraded": -2.0,
    "downgrades": -2.0,
    "outperform": 1.5,
    "outperformed": 1.5,
    "underperform": -1.5,
    "underperformed": -1.5,
    "bullish": 2.0,
    "bearish": -2.0,
    "rally": 1.5,
    "rallied": 1.5,
    "rallies": 1.5,
    "selloff": -2.0,
    "sell-off": -2.0,
    "plunge": -2.5,
    "plunged": -2.5,
    "plunges": -2.5,
    "tumble": -2.0,
    "tumbled": -2.0,
    "tumbles": -2.0,
    "slump": -2.0,
    "slumped": -2.0,
    "slumps": -2.0,
    "soar": 2.0,
    "soared": 2.0,
    "soars": 2.0,
    "surge": 2.0,
    "surged": 2.0,
    "surges": 2.0,
    "record": 1.2,
    "beat": 1.0,
    "beats": 1.0,
    "misses": -1.5,
    "missed": -1.5,
    "buyback": 1.5,
    "buybacks": 1.5,
    "weighs_on": -1.5,
    "resigns": -1.0,
    # headline verbs on a company or a market (with a financial noun the rules decide instead)
    "rises": 1.2,
    "gains": 1.2,
    "climbs": 1.5,
    "jumps": 1.5,
    "falls": -1.5,
    "drops": -1.5,
    "slides": -1.5,
    "slips": -1.2,
    "sinks": -2.0,
    # jobs
    "layoffs": -2.5,
    "layoff": -2.5,
    "laid_off": -2.5,
    "job_cuts": -2.5,
    "redundancies": -2.0,
    "furlough": -2.0,
    "furloughs": -2.0,
    "furloughed": -2.0,
    "strike": -1.5,
    "strikes": -1.5,
    # trouble
    "recall": -2.0,
    "recalls": -2.0,
    "recalled": -2.0,
    "probe": -1.8,
    "probes": -1.8,
    "investigation": -1.5,
    "investigations": -1.5,
    "subpoena": -1.8,
    "lawsuit": -1.8,
    "lawsuits": -1.8,
    "sued": -2.0,
    "sues": -1.8,
    "litigation": -1.5,
    "fined": -2.0,
    "penalty": -1.8,
    "bankruptcy": -3.0,
    "bankrupt": -3.0,
    "insolvency": -3.0,
    "insolvent": -3.0,
    "chapter_11": -3.0,
    "defaulted": -2.5,
    "liquidation": -2.5,
    "profit_warning": -3.0,
    "writedowns": -2.0,
    "impairment": -1.5,
    "delisted": -2.0,
    "delisting": -2.0,
    # finance senses of words VADER reads as emotions
    "gross": 0.0,
    "tender": 0.0,
    "interest": 0.0,
    "credit": 0.0,
    "share": 0.0,
    "shares": 0.0,
}

# Neutral vocabulary: never a valence, whatever VADER's lexicon or the learned lexicon says.
NEUTRAL_WORDS = frozenset(
    """
    said says say saying told will would shall should could may might can company companies firm group
    corporation corp oyj plc inc ltd ab according_to announced announces statement release news today
    week month year years quarter period the a an of to in on at by for with from and or as is are was
    were be been being has have had it its this that these those which who whom whose what when where
    there their they them he she his her we our us i you your also into about over after than then
    other such both each per via within same all any some one two three first second third new""".split()
)
# VADER's modifiers must stay out of the lexicon, or its negation and booster checks skip them.
MODIFIERS = frozenset(NEGATE) | frozenset(BOOSTER_DICT) | {"but", "no", "least", "kind", "n't"}


def load_learned(path: Path = LEXICON_PATH) -> dict[str, float]:
    """The learned lexicon file: ``word<TAB>valence`` lines, ``#`` comments."""
    learned = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, value = line.split("\t")[:2]
            learned[word] = float(value)
    return learned


def build_lexicon(stock: Mapping[str, float], learned: Mapping[str, float]) -> dict[str, float]:
    lexicon = {w: v * STOCK_WEIGHT for w, v in stock.items()}
    lexicon.update(learned)
    lexicon.update(FINANCE_TERMS)  # a 0.0 here means: no valence in finance
    return {w: v for w, v in lexicon.items() if v != 0.0 and w not in NEUTRAL_WORDS and w not in MODIFIERS}


def _version() -> str:
    """The base name plus a hash of the learned lexicon and of the code of the rules and lexicons."""
    digest = hashlib.sha256()
    for path in (LEXICON_PATH, Path(sentiment_rules.__file__), Path(__file__)):
        digest.update(path.read_bytes() if path.exists() else b"")
    return f"{SCORER_BASE_VERSION}+{digest.hexdigest()[:8]}"


SCORER_VERSION = _version()


_DEFAULTS = SentimentConfig()


class SentimentScorer:
    """VADER with finance rules and lexicons; ``score`` in [-1, 1], ``label`` by thresholds.

    The default thresholds are the config's (tuned with the lexicon); ``learned`` replaces the
    packaged learned lexicon (the builder's cross-validation uses it)."""

    version = SCORER_VERSION

    def __init__(
        self,
        positive_threshold: float = _DEFAULTS.positive_threshold,
        negative_threshold: float = _DEFAULTS.negative_threshold,
        *,
        learned: Mapping[str, float] | None = None,
    ) -> None:
        if not -1 <= negative_threshold < positive_threshold <= 1:
            raise ValueError("need -1 <= negative_threshold < positive_threshold <= 1")
        self.positive_threshold = positive_threshold
        self.negative_threshold = negative_threshold
        if learned is None:
            learned = load_learned()
            self.version = SCORER_VERSION
        else:  # a lexicon under evaluation (the builder's cross-validation)
            self.version = f"{SCORER_BASE_VERSION}+custom"
        self._vader = SentimentIntensityAnalyzer()
        self._vader.lexicon = build_lexicon(self._vader.lexicon, learned)

    def score(self, text: str) -> float:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        tokens = prepare(text)
        if not tokens:
            return 0.0
        value = float(self._vader.polarity_scores(" ".join(tokens))["compound"])
        return max(-1.0, min(1.0, value))

    def score_many(self, texts: Iterable[str]) -> list[float]:
        return [self.score(text) for text in texts]

    def label(self, score: float) -> str:
        if score >= self.positive_threshold:
            return "positive"
        if score <= self.negative_threshold:
            return "negative"
        return "neutral"
