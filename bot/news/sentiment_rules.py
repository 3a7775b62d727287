"""Finance rules that run before VADER: they rewrite a text into the tokens VADER scores.

``prepare(text)`` lower-cases and tokenises the text, joins a few multiword terms into one token
(``order book`` -> ``order_book``, ``laid off`` -> ``laid_off``) and replaces the words that carry
a financial direction with marker tokens (``fingood`` / ``finbad`` for results, ``finplus`` /
``finminus`` for other figures) whose valences the scorer puts in VADER's lexicon. VADER then does
the rest (negation, boosters, "but", the compound): "did not beat estimates" is a negated marker.

The rules, in the order they run:

1. cross-sign results: a loss now against a profit before is bad (and the reverse good), and so is
   moving *to* a loss ("slipped to a net loss"); moving to a profit is good;
2. a direction word applied to the nearest financial noun: a quantity word (rose, fell, narrowed,
   cut) times the noun's sign, so "net loss narrowed", "cut costs" and "raised its guidance" are
   good and "cut jobs" bad; a judgement word (improved, weakened, beat, missed) keeps its own sign;
   "up"/"down" count only before a figure or "from"/"by"/"to";
3. figures compared without a direction word: "EPS was EUR 0.25 versus EUR 0.42", "profit went
   from EUR 8.7 mn to EUR 13.1 mn", "EUR 7.4 mn compared to a negative EUR 68.6 mn".
"""

from __future__ import annotations

import re

GOOD, BAD, PLUS, MINUS = "fingood", "finbad", "finplus", "finminus"
MARKERS = frozenset((GOOD, BAD, PLUS, MINUS))

# +1: more is better for the company; -1: more is worse. RESULTS get the strong markers.
METRICS: dict[str, int] = {
    w: 1
    for w in """
    profit profits earnings eps income ebit ebita ebitda sales net_sales revenue revenues turnover
    result results margin margins order_book orders order_intake dividend dividends market_share
    shipments deliveries demand cash_flow shares stock share_price index market economy gdp
    profitability efficiency productivity capacity production output volume volumes traffic
    passengers jobs employment headcount workforce personnel staff employees workers guidance
    outlook forecast forecasts target targets estimates estimate expectations consensus view rating
    ratings valuation roce roe stocks equities markets wall_street pt po price_target""".split()
}
METRICS.update(
    {
        w: -1
        for w in """
    loss losses net_loss costs cost expenses expenditure debt debts unemployment writedowns
    impairment impairments charges deficit""".split()
    }
)
RESULTS = frozenset(
    """
    pt po price_target rating ratings profit profits earnings eps income ebit ebita ebitda result
    results margin margins profitability loss losses net_loss deficit guidance outlook forecast
    forecasts estimates estimate expectations consensus""".split()
)
PROFITS = frozenset("profit profits earnings eps result income ebit ebitda".split())
LOSSES = frozenset("loss losses net_loss deficit negative".split())
EXPECTED = frozenset(
    "estimates estimate expectations forecast forecasts consensus guidance target view level".split()
)
QUALIFIERS = frozenset("excluding including excl incl before".split())  # "profit excluding costs rose"

# quantity words: their sign is multiplied by the noun's ("loss narrowed" is good)
RISE = frozenset(
    """
    rose rise rises risen rising increase increased increases increasing grew grow grows growing grown
    growth up higher climbed climb climbs jumped jump jumps surged surge surges soared soar soars
    gained gain gains doubled tripled widened widen widens widening expanded expand expands advanced
    boosted boost boosts rebounded rebound rebounds raised raise raises raising lifted lift lifts hiked
    hike hikes""".split()
)
FALL = frozenset(
    """
    fell fall falls falling fallen dropped drop drops down lower slipped slips slid slide slides
    slumped slump slumps plunged plunge plunges tumbled tumble tumbles sank sink sinks""".split()
)
SHRINK = frozenset(
    """
    decreased decrease decreases decreasing declined decline declines declining lowered lowers
    lowering shrank shrink shrinks shrunk contracted narrowed narrows narrowing eased reduced reduce
    reduces reducing reduction cut cuts cutting diminished halved slashed slash slashes trimmed trim
    trims curb curbs curbed pared pares""".split()
)
DOWN = FALL | SHRINK
# judgement words: good or bad whatever the noun ("a slight improvement from a loss")
BETTER = frozenset(
    """
    improved improve improves improving improvement strengthened strengthens stronger better beat beats
    beating topped tops exceeded exceeds exceed surpassed surpasses outperformed upgraded upgrades
    recovered""".split()
)
WORSE = frozenset(
    """
    weakened weakens weaker weak worse deteriorated deteriorates deterioration missed miss misses
    downgraded downgrades underperformed""".split()
)
AHEAD, BEHIND = frozenset(("above", "ahead", "exceeding")), frozenset(("below", "short", "under"))
TURNS = frozenset("swung swings turned turns went goes moved returned returns".split())
NEEDS_FIGURE = frozenset(("up", "down"))  # "up 42 %", "down from", not "set up"
COMPARE = frozenset("compared versus vs against from".split())  # the earlier figure follows these
BREAKS = frozenset(". ; : ! ? but while whereas although however".split())

_PHRASES = {
    "number of shares": "number_of_shares",
    "higher-than-expected": "higher",
    "better-than-expected": "better",
    "stronger-than-expected": "stronger",
    "lower-than-expected": "lower",
    "weaker-than-expected": "weaker",
    "worse-than-expected": "worse",
    "order book": "order_book",
    "order backlog": "order_book",
    "order intake": "order_intake",
    "orders received": "order_intake",
    "net sales": "net_sales",
    "net loss": "net_loss",
    "market share": "market_share",
    "share price": "share_price",
    "price target": "price_target",
    "cash flow": "cash_flow",
    "earnings per share": "eps",
    "wall street": "wall_street",
    "weighs on": "weighs_on",
    "weigh on": "weighs_on",
    "weighed on": "weighs_on",
    "share buyback": "buyback",
    "share repurchase": "buyback",
    "according to": "according_to",
    "in line with": "in_line_with",
    "as a result": "as_a_result",
    "resulted in": "resulted_in",
    "resulting in": "resulting_in",
    "will result in": "will result_in",
    "laid off": "laid_off",
    "lay off": "laid_off",
    "laying off": "laid_off",
    "lays off": "laid_off",
    "lay-offs": "layoffs",
    "lay-off": "layoffs",
    "job cuts": "job_cuts",
    "job losses": "job_cuts",
    "profit warning": "profit_warning",
    "chapter 11": "chapter_11",
    "per cent": "%",
    "percent": "%",
    "write-downs": "writedowns",
    "write-down": "writedowns",
    "writedown": "writedowns",
    "fell short of": "short of",
    "fall short of": "short of",
    "falls short of": "short of",
    "better than expected": "beat expectations",
    "worse than expected": "missed expectations",
    "failed to": "not",
    "fails to": "not",
    "higher than expected": "beat expectations",
    "larger than expected": "beat expectations",
    "stronger than expected": "beat expectations",
    "lower than expected": "missed expectations",
    "smaller than expected": "missed expectations",
    "weaker than expected": "missed expectations",
    "back in the black": GOOD,
    "into the red": BAD,
    "in the red": BAD,
}
_PHRASE_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(_PHRASES, key=len, reverse=True))) + r")\b")
_TOKEN_RE = re.compile(r"\w+(?:[.,'&/-]\w+)*%?|[^\w\s]")
_SPLIT_DECIMAL = re.compile(r"(\d) \.(\d)")  # the phrasebank's "EUR17 .6 m"
_POSSESSIVE = re.compile(r"\s?'s\b")
_NUMBER = re.compile(
    r"^(?:eur|meur|usd|sek|nok|dkk|gbp|lvl|eek|rmb|cad|chf|jpy|rub|pln)?"
    r"(-?\d+(?:,\d{3})*(?:\.\d+)?)(mn|mln|m|bn|bln|b|k|million|billion)?$"
)
_UNITS = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "million": 1e6,
    "meur": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "billion": 1e9,
}
MAX_CHARS = 2000  # VADER's cost grows with the square of the length: longer texts are cut here


def tokenize(text: str) -> list[str]:
    """Lower-cased word, number and punctuation tokens, multiword terms joined."""
    text = text[:MAX_CHARS].lower().replace("\u2019", "'")
    text = _POSSESSIVE.sub("", _SPLIT_DECIMAL.sub(r"\1.\2", text))
    if _PHRASE_RE.search(text):
        text = _PHRASE_RE.sub(lambda m: " " + _PHRASES[m.group(0)] + " ", text)
    return _TOKEN_RE.findall(text)


def number(tokens: list[str], i: int) -> tuple[float, str] | None:
    """(value, kind) of a figure at token i, or None; kind is "%" or "" (amounts)."""
    m = _NUMBER.match(tokens[i].rstrip("%"))
    if not m:
        return None
    raw = m.group(1).replace(",", "")
    value = float(raw)
    if "." not in raw and 1990 <= value <= 2035 and not m.group(2):
        return None  # a year
    scale = _UNITS.get(m.group(2) or "", 1.0)
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if scale == 1.0 and nxt in _UNITS:
        scale = _UNITS[nxt]
    if i > 0 and tokens[i - 1] == "-":  # "EUR - 0.4 mn"
        value = -value
    kind = "%" if tokens[i].endswith("%") or nxt in ("%", "pct") else ""
    return value * scale, kind


def _marker(sign: int, noun: str) -> str:
    if noun in RESULTS:
        return GOOD if sign > 0 else BAD
    return PLUS if sign > 0 else MINUS


def _cross_sign(tokens: list[str], used: set[int]) -> None:
    """A loss now against a profit before (bad), or a profit now against a loss before (good)."""
    for i, word in enumerate(tokens):
        if word not in PROFITS and word not in LOSSES or word == "negative":
            continue
        other = LOSSES - {"negative"} if word in PROFITS else PROFITS
        seen_compare = False
        for j in range(i + 1, min(len(tokens), i + 20)):
            w = tokens[j]
            if w in BREAKS or w == "or":
                break
            seen_compare = seen_compare or w in COMPARE
            if w in other and seen_compare:
                tokens[j] = GOOD if word in PROFITS else BAD
                used.update(range(i, j + 1))
                break


def _destination(tokens: list[str], i: int) -> str | None:
    """A marker when the word at i moves *to* a loss or a profit: "slipped to a net loss"."""
    if tokens[i] not in TURNS and tokens[i] not in FALL and tokens[i] not in RISE:
        return None
    if i + 1 >= len(tokens) or tokens[i + 1] not in ("to", "into"):
        return None
    for w in tokens[i + 2 : i + 6]:
        if w in BREAKS or number([w], 0) is not None:
            return None
        if w in LOSSES and w != "negative" and tokens[i] not in RISE:
            return BAD
        if w in PROFITS and tokens[i] not in FALL:
            return GOOD
    return None


def _direction(tokens: list[str], i: int) -> tuple[int, bool]:
    """(sign, judgement) of the word at i: +1 / -1 / 0, and whether the noun's sign is ignored."""
    word = tokens[i]
    if word in BETTER or word in WORSE:
        return (1 if word in BETTER else -1), True
    sign = 1 if word in RISE else -1 if word in DOWN else 0
    if sign and word in NEEDS_FIGURE:
        k = i + 1
        if k < len(tokens) and tokens[k].endswith("ly"):  # "down slightly", "up sharply"
            k += 1
        if k >= len(tokens) or (tokens[k] not in ("from", "by", "to") and number(tokens, k) is None):
            return 0, False
    return sign, False


def _nearest_metric(tokens: list[str], i: int, used: set[int]) -> int | None:
    """The financial noun a direction word at i is about, in the same clause, or None."""
    for j in range(i - 1, max(-1, i - 16), -1):  # the noun before: "profit ... rose"
        if tokens[j] in BREAKS or j in used or tokens[j] in MARKERS:
            break
        if tokens[j] in METRICS and not QUALIFIERS.intersection(tokens[max(0, j - 2) : j]):
            return j
    for j in range(i + 1, min(len(tokens), i + 5)):  # or just after: "higher sales", "raised its guidance"
        if tokens[j] in BREAKS:
            break
        if tokens[j] in METRICS:
            return j
    return None


def _figure_follows(tokens: list[str], i: int) -> bool:
    k = i + 1
    while k < len(tokens) and k <= i + 2 and tokens[k] in ("by", "of", "to", "some", "about", "nearly"):
        k += 1
    return k < len(tokens) and number(tokens, k) is not None


def _directions(tokens: list[str], used: set[int]) -> set[int]:
    """Direction words on a financial noun become markers; returns the nouns they resolved."""
    resolved = set()
    for i, word in enumerate(tokens):
        if i in used:
            continue
        marker = _destination(tokens, i)
        if marker:
            tokens[i] = marker
            used.update(range(i, i + 6))
            continue
        if word in AHEAD or word in BEHIND:  # "ahead of forecast", "below analyst estimates"
            if EXPECTED.intersection(tokens[i + 1 : i + 5]):
                tokens[i] = GOOD if word in AHEAD else BAD
            continue
        sign, judgement = _direction(tokens, i)
        j = _nearest_metric(tokens, i, used) if sign else None
        if j is not None:
            tokens[i] = _marker(sign if judgement else sign * METRICS[tokens[j]], tokens[j])
            resolved.add(j)
        elif sign and not judgement and _figure_follows(tokens, i):  # "an increase of 1.9 %"
            tokens[i] = PLUS if sign > 0 else MINUS
    return resolved


def _next_figure(tokens: list[str], k: int, within: int) -> tuple[float, str, int] | None:
    """The first figure in tokens[k:k+within] (skipping a bracketed conversion), with its index.

    A loss word or "negative" just before the figure makes it negative ("a loss of EUR 0.08")."""
    end, negative = min(len(tokens), k + within), False
    while k < end:
        w = tokens[k]
        if w in BREAKS or w in MARKERS or w in RISE or w in DOWN:
            return None
        if w == "(":  # "EUR 500,000 ( USD 680,000 )"
            k = next((c for c in range(k, min(len(tokens), k + 12)) if tokens[c] == ")"), k) + 1
            continue
        negative = negative or w in LOSSES
        figure = number(tokens, k)
        if figure is not None:
            return (-figure[0] if negative else figure[0]), figure[1], k
        k += 1
    return None


def _compare_figures(tokens: list[str], i: int) -> int:
    """+1 / -1 when the figures after the noun at i went up / down, else 0."""
    first = _next_figure(tokens, i + 1, 14)
    if first is None:
        return 0
    if "from" in tokens[max(i + 1, first[2] - 3) : first[2]]:  # from OLD to NEW
        to = next((k for k in range(first[2] + 1, min(len(tokens), first[2] + 5)) if tokens[k] == "to"), None)
        old, new = first, _next_figure(tokens, to + 1, 3) if to is not None else None
    else:  # NEW ... compared with / versus / from OLD
        new = first
        window = range(first[2] + 1, min(len(tokens), first[2] + 7))
        cmp = next((k for k in window if tokens[k] in COMPARE), None)
        old = _next_figure(tokens, cmp + 1, 6) if cmp is not None else None
    if new is None or old is None or new[1] != old[1] or new[0] == old[0]:
        return 0
    if MARKERS.intersection(tokens[min(new[2], old[2]) : max(new[2], old[2])]):
        return 0  # a direction word between the figures already said it
    return 1 if new[0] > old[0] else -1


def _figures(tokens: list[str], used: set[int], resolved: set[int]) -> None:
    """A marker after each financial noun whose figures went up or down without a direction word."""
    out = []
    for i, word in enumerate(tokens):
        out.append(word)
        if word in METRICS and i not in used and i not in resolved:
            change = _compare_figures(tokens, i)
            if change:
                out.append(_marker(change * METRICS[word], word))
                used.update(range(i, i + 20))  # one marker per comparison: "EPS ( EPS ) was ..."
    tokens[:] = out


def prepare(text: str) -> list[str]:
    """The tokens VADER scores: lower-case, multiword terms joined, financial directions as markers."""
    tokens = tokenize(text)
    used: set[int] = set()
    _cross_sign(tokens, used)
    resolved = _directions(tokens, used)
    _figures(tokens, used, resolved)
    return tokens
