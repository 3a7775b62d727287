"""Sentiment scorer: VADER (version 0: the stock lexicon, no finance tuning yet).

Contract: ``score(text)`` is VADER's compound score in [-1, 1]; ``label(score)`` maps it to
positive / negative / neutral with the configured thresholds; ``version`` changes whenever the
lexicon or rules change, so journaled scores say which scorer made them.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SCORER_VERSION = "vader-stock-0"


class SentimentScorer:
    version = SCORER_VERSION

    def __init__(self, positive_threshold: float = 0.05, negative_threshold: float = -0.05) -> None:
        if not -1 <= negative_threshold < positive_threshold <= 1:
            raise ValueError("need -1 <= negative_threshold < positive_threshold <= 1")
        self.positive_threshold = positive_threshold
        self.negative_threshold = negative_threshold
        self._vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self._vader.polarity_scores(text)["compound"])

    def label(self, score: float) -> str:
        if score >= self.positive_threshold:
            return "positive"
        if score <= self.negative_threshold:
            return "negative"
        return "neutral"
