"""Synthetic headlines for the sample market, and the small price effect they carry.

Each symbol gets about two headlines a week (Poisson, 0.4 per session) and the market about one
market-wide headline a week. Times: 55% pre-market (06:00-09:30 New York), 25% during the
session, 20% in the three hours after the close. Tone: 35% positive, 35% negative, 30% neutral;
a toned headline has a strength in [0.5, 1.5].

The built-in effect (the only thing a sentiment feature can find here), for a toned headline
published at time p, with s = tone * strength:

- the overnight gap of the first session that opens after p is shifted by ``GAP_EFFECT * s``
  (log return; about a quarter of a typical gap's standard deviation);
- that session and the next ``duration - 1`` (duration 1-3) get ``DRIFT_EFFECT * s`` of extra
  open-to-close drift.

Market-wide headlines act on the common factor, so each symbol feels them times its beta. Nothing
happens before p: the shifted gap opens after p, and extended-hours prints show it only from p on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.data.sample_market import MINUTE_NS, NewsShifts, SessionCalendar

GAP_EFFECT = 0.003
DRIFT_EFFECT = 0.0008
SYMBOL_RATE = 0.4  # headlines per symbol per session
MARKET_RATE = 0.2  # market-wide headlines per session
HEADLINE_COLUMNS: tuple[str, ...] = ("published_at", "symbol", "title", "summary", "source", "guid")

_HOUR_NS = 60 * MINUTE_NS
_SLOT_P = (0.55, 0.25, 0.20)  # pre-market, in session, after the close
_TONES = np.array([1, -1, 0], dtype="int64")
_TONE_P = (0.35, 0.35, 0.30)

# (title, summary) templates by tone; {name}, {ticker} and {amount} are filled in.
_COMPANY: dict[int, tuple[tuple[str, str], ...]] = {
    1: (
        (
            "{name} beats quarterly estimates, raises guidance",
            "{name} reported earnings above analyst expectations and lifted its full-year outlook.",
        ),
        (
            "{name} shares jump after analyst upgrade",
            "A large brokerage upgraded {name} ({ticker}) to buy, citing accelerating demand.",
        ),
        (
            "{name} wins multi-year government contract",
            "{name} said it was awarded a contract that analysts expect to add to revenue for years.",
        ),
        (
            "{name} announces ${amount} billion share buyback",
            "The board of {name} authorised a new share repurchase programme.",
        ),
        (
            "{ticker} rallies as {name} unveils new product line",
            "{name} introduced a new product line that early reviewers called a strong upgrade.",
        ),
        (
            "{name} reports record revenue, shares climb",
            "{name} posted record quarterly revenue on strong sales in every region.",
        ),
    ),
    -1: (
        (
            "{name} shares fall after regulator opens probe",
            "Regulators opened an investigation into the accounting practices of {name} ({ticker}).",
        ),
        (
            "{name} misses estimates, cuts full-year outlook",
            "{name} reported weaker than expected results and lowered its guidance.",
        ),
        (
            "{name} recalls products over safety concerns",
            "{name} said it would recall about {amount} million units after reports of defects.",
        ),
        (
            "{ticker} slides as {name} finance chief resigns",
            "The chief financial officer of {name} stepped down unexpectedly, effective immediately.",
        ),
        (
            "Analysts downgrade {name}, citing weak margins",
            "Two brokerages cut {name} ({ticker}) to sell on shrinking margins and rising costs.",
        ),
        (
            "{name} hit with lawsuit over data breach",
            "Customers sued {name} after a breach exposed personal data of {amount} million users.",
        ),
    ),
    0: (
        (
            "{name} announces date of annual meeting",
            "{name} ({ticker}) will hold its annual shareholder meeting next month.",
        ),
        (
            "{name} to present at industry conference",
            "Executives of {name} will present at an investor conference next week.",
        ),
        ("{name} files quarterly report", "{name} filed its quarterly report with the securities regulator."),
        ("{name} names new board member", "{name} appointed an independent director to its board."),
        (
            "What to watch in {name}'s upcoming earnings",
            "Analysts expect {name} ({ticker}) to report results in line with last quarter.",
        ),
    ),
}
_MARKET: dict[int, tuple[tuple[str, str], ...]] = {
    1: (
        ("Stocks rally as inflation cools", "Equities rose broadly after a softer inflation reading."),
        ("Strong jobs report lifts Wall Street", "Hiring beat forecasts and major indexes climbed."),
        ("Fed signals patience on rates, equities climb", "Stocks gained after the central bank held rates."),
    ),
    -1: (
        ("Stocks slide as bond yields jump", "Equities fell broadly as Treasury yields rose sharply."),
        ("Wall Street falls on growth worries", "Weak factory data revived fears of a slowdown."),
        ("Trade tensions weigh on equities", "New tariff threats sent major indexes lower."),
    ),
    0: (
        ("Markets await Fed minutes", "Investors look to the central bank's minutes for rate clues."),
        ("Investors eye jobs data due Friday", "Traders position ahead of the monthly payrolls report."),
        ("Trading quiet ahead of earnings season", "Volumes were light as investors waited for results."),
    ),
}


@dataclass(frozen=True)
class NewsEvents:
    """All headlines of one symbol (or of the market) over the whole span, sorted by time."""

    published_ns: np.ndarray  # UTC nanoseconds, whole seconds
    tone: np.ndarray  # +1, -1 or 0
    strength: np.ndarray  # in [0.5, 1.5]
    duration: np.ndarray  # sessions of extra drift, 1-3
    variant: np.ndarray  # picks the template and the {amount}
    session: np.ndarray  # first session opening after publication (== n when there is none)


def generate_events(rng: np.random.Generator, cal: SessionCalendar, rate: float) -> NewsEvents:
    """Draw the whole span's headlines at once (so any sub-range sees the same ones)."""
    day = np.repeat(np.arange(cal.n), rng.poisson(rate, cal.n))
    k = len(day)
    slot = rng.choice(3, size=k, p=_SLOT_P)
    u = rng.random(k)
    pre_start = cal.pre_ns[day] + 2 * _HOUR_NS  # 06:00 New York
    starts = np.select([slot == 0, slot == 1], [pre_start, cal.open_ns[day]], cal.close_ns[day])
    ends = np.select(
        [slot == 0, slot == 1], [cal.open_ns[day], cal.close_ns[day]], cal.close_ns[day] + 3 * _HOUR_NS
    )
    seconds = 1_000_000_000
    published = (starts + (u * (ends - starts)).astype("int64")) // seconds * seconds
    tone = rng.choice(_TONES, size=k, p=_TONE_P)
    strength = rng.uniform(0.5, 1.5, k)
    duration = rng.integers(1, 4, k)
    variant = rng.integers(0, 1 << 30, k)
    order = np.argsort(published, kind="stable")
    published = published[order]
    return NewsEvents(
        published_ns=published,
        tone=tone[order],
        strength=strength[order],
        duration=duration[order],
        variant=variant[order],
        session=np.searchsorted(cal.open_ns, published, side="right"),
    )


def price_shifts(events: NewsEvents, n: int) -> NewsShifts:
    """Per-session gap and drift shifts caused by ``events`` (see the module docstring)."""
    toned = (events.tone != 0) & (events.session < n)
    session = events.session[toned]
    signed = events.tone[toned] * events.strength[toned]
    gap, drift, count = np.zeros(n), np.zeros(n), np.zeros(n)
    np.add.at(gap, session, GAP_EFFECT * signed)
    np.add.at(count, session, 1.0)
    for lag in range(3):
        hit = (events.duration[toned] > lag) & (session + lag < n)
        np.add.at(drift, session[hit] + lag, DRIFT_EFFECT * signed[hit])
    return NewsShifts(gap, drift, count, session, events.published_ns[toned], GAP_EFFECT * signed)


def render(
    events: NewsEvents,
    mask: np.ndarray,
    seed: int,
    ticker: str,
    name: str,
    with_truth: bool = False,
) -> pd.DataFrame:
    """Headline rows for the selected events; ``ticker`` "" renders market-wide headlines."""
    templates = _MARKET if ticker == "" else _COMPANY
    rows = []
    for j in np.flatnonzero(mask).tolist():
        tone, variant = int(events.tone[j]), int(events.variant[j])
        options = templates[tone]
        title, summary = options[variant % len(options)]
        fill = {"name": name, "ticker": ticker, "amount": 1 + (variant // len(options)) % 9}
        row = {
            "published_at": pd.Timestamp(int(events.published_ns[j]), tz="UTC"),
            "symbol": ticker,
            "title": title.format(**fill),
            "summary": summary.format(**fill),
            "source": "sample",
            # the event's index in the whole span: stable whatever range is asked for
            "guid": f"sample:{seed}:{ticker or 'market'}:{j:05d}",
        }
        if with_truth:
            row.update(tone=tone, strength=float(events.strength[j]), session=int(events.session[j]))
        rows.append(row)
    return pd.DataFrame(rows)
