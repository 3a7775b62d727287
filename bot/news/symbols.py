"""Which traded symbols a headline mentions: tickers, $cashtags and company names.

Rules (all matches are whole words; the result is a sorted tuple without repeats):

- a plain ticker counts only in upper case, standing alone: ``AAPL`` in "AAPL rallies" or
  "AAPL's margin", not in "aapl", "AAPLX", "T-Mobile" or "AT&T";
- a single-letter ticker (``A``, ``F``, ``T``...) counts only as a cashtag: as a plain word it is
  far more often an article, a grade or a class of shares ("A new plan", "Class A stock");
- in a shouting headline (almost all capitals) plain tickers are ignored, since there every short
  English word looks like one ("ON THE BRINK" would match ON); cashtags and names still count;
- a cashtag ``$AAPL`` counts in any case (``$aapl``);
- a company name from the aliases counts case-insensitively on word boundaries: "Apple" matches
  "Apple's" and "APPLE" but not "Pineapple" or "Apples".

Only the symbols given are matched; aliases of other symbols are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# A ticker must not be glued to other word material: letters/digits, a cashtag's "$", or the
# joiners that build longer names ("AT&T", "T-Mobile", "BRK.B" when we only trade BRK).
_BEFORE = r"(?<![\w$&.\-])"
_AFTER = r"(?![\w&]|[.\-]\w)"
_SHOUTING_SHARE = 0.8  # share of capitals among letters above which a text is shouting
_SHOUTING_MIN_LETTERS = 12


class SymbolMatcher:
    """Finds the traded symbols a text mentions (see the module docstring for the rules)."""

    def __init__(self, symbols: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None) -> None:
        self.symbols = tuple(sorted({s.strip().upper() for s in symbols if s.strip()}))
        by_length = sorted(self.symbols, key=len, reverse=True)  # longest first: BRK.B before BRK
        plain = [s for s in by_length if len(s) > 1]
        self._plain = _alternation(plain, _BEFORE, _AFTER, flags=0)
        self._cashtag = _alternation(by_length, r"(?<![\w$])\$", r"(?![\w]|[.\-]\w)", flags=re.IGNORECASE)
        self._names: dict[str, set[str]] = {}
        for symbol, names in (aliases or {}).items():
            symbol = symbol.strip().upper()
            if symbol not in self.symbols:
                continue
            for name in names:
                spelled = " ".join(name.split()).casefold()
                if spelled:
                    self._names.setdefault(spelled, set()).add(symbol)
        # a name may span several words; any run of spaces in the text matches one space
        names = sorted(self._names, key=len, reverse=True)
        patterns = [r"\s+".join(map(re.escape, n.split(" "))) for n in names]
        self._name_re = _alternation(patterns, r"(?<!\w)", r"(?!\w)", flags=re.IGNORECASE, escape=False)

    def match(self, text: str) -> tuple[str, ...]:
        """The traded symbols ``text`` mentions, sorted, each once."""
        if not text or not self.symbols:
            return ()
        found: set[str] = set()
        if self._plain is not None and not _shouting(text):
            found.update(m.group(1) for m in self._plain.finditer(text))
        if self._cashtag is not None:
            found.update(m.group(1).upper() for m in self._cashtag.finditer(text))
        if self._name_re is not None:
            for m in self._name_re.finditer(text):
                found.update(self._names.get(" ".join(m.group(1).split()).casefold(), ()))
        return tuple(sorted(found))


def _alternation(
    words: Sequence[str], before: str, after: str, flags: int, escape: bool = True
) -> re.Pattern[str] | None:
    if not words:
        return None
    body = "|".join(map(re.escape, words) if escape else words)
    return re.compile(before + "(" + body + ")" + after, flags)


def _shouting(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < _SHOUTING_MIN_LETTERS:
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) >= _SHOUTING_SHARE
