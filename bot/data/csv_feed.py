"""A folder of CSV files as a bar feed (``csv:DIR``).

One file per symbol: ``SYMBOL.csv``, or ``SYMBOL_anything.csv`` (e.g. ``SPY_2021-07.csv``) when no
exact name exists; the match ignores case. Formats read:

- a header naming a time column (``ts``, ``timestamp``, ``datetime``, ``time``, ``date`` or ``t``;
  separate ``date`` and ``time`` columns are joined) and ``open, high, low, close, volume``
  (``o h l c v`` too); header case and spacing do not matter, other columns are ignored
  (``trade_count``, ``vwap``, an unnamed leading index column);
- ISO 8601 times. With an offset (``-04:00``, ``Z``, ``UTC``) a time is that instant, offsets may
  differ row to row. Without one it is New York wall time. A date, or a time at midnight of its
  own offset, is a daily bar and becomes midnight New York of that date (``bot.calendar.timeframes``).

Rows are cleaned by ``bot.data.cleaning``; what cannot be used raises ``DataError`` naming the
file and, for a bad cell, its 1-based line number (the header is line 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import structlog

from bot.calendar.timeframes import NEW_YORK, Timeframe
from bot.data.base import BAR_COLUMNS, BarFeed, NoBarsError, as_symbol_list, bound_to_utc, describe_bound
from bot.data.cleaning import clean_bars
from bot.data.resample import native_minutes, regular_session_mask, resample_bars
from bot.errors import DataError

_TIME_NAMES = ("ts", "timestamp", "datetime", "time", "date", "t")  # first present wins
_COLUMN_ALIASES = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "v", "vol"),
}
_OFFSET = r"(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)"
# A date, optionally at midnight, optionally with an offset: the row is a daily bar.
_DATE_ONLY = re.compile(rf"^\d{{4}}-\d\d-\d\d(?:[ T]00:00(?::00(?:\.0+)?)?)?\s*{_OFFSET}?$", re.I)
# An offset right after a time of day; a bare date like 2021-01-02 must not look like "-02".
_AWARE = re.compile(rf"\d:\d\d(?:\.\d+)?\s*{_OFFSET}$", re.I)
_EXAMPLE = "expected ISO 8601 such as 2021-07-01 09:30:00-04:00 or 2021-07-01"


class CsvFeed(BarFeed):
    """Bars replayed from ``DIR/SYMBOL.csv`` files.

    Intraday bars outside the regular session are dropped unless ``extended_hours``. Parsed and
    cleaned frames are cached per file (re-read when the file's size or mtime changes), and so
    are their resamplings.
    """

    synthetic = False

    def __init__(self, directory: str | Path, *, extended_hours: bool = False) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise DataError(f"csv source folder {directory} does not exist")
        self.name = f"csv:{directory}"
        self.extended_hours = extended_hours
        # path -> ((mtime_ns, size), {timeframe name or "" for the file's own bars: frame})
        self._cache: dict[Path, tuple[tuple[int, int], dict[str, pd.DataFrame]]] = {}

    def available_symbols(self) -> list[str]:
        """Symbols with a file here (the file stem up to its first ``_``, upper case), sorted."""
        return sorted({path.stem.split("_")[0].upper() for path in self._csv_files()})

    def history(
        self,
        symbols: Sequence[str],
        start: datetime | date | None,
        end: datetime | date | None,
        timeframe: Timeframe,
    ) -> dict[str, pd.DataFrame]:
        """Bars with start times in ``[start, end]`` (the contract in ``bot.data.base``).

        Naive bounds are New York time, like the files; an ``end`` given as a ``date`` includes
        that whole New York day (a datetime end is the exact instant).
        """
        low, high = bound_to_utc(start), bound_to_utc(end, end=True)
        out: dict[str, pd.DataFrame] = {}
        for symbol in as_symbol_list(symbols):
            path = self._path_for(symbol)
            window = self._bars(path, symbol.strip().upper(), timeframe).loc[low:high]
            if window.empty:
                raise NoBarsError(
                    f"no {symbol} bars between {describe_bound(start, 'the first bar')} and "
                    f"{describe_bound(end, 'the last bar')} in {path}"
                )
            out[symbol] = window
        return out

    def _csv_files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
        except OSError:
            raise DataError(f"csv source folder {self.directory} does not exist") from None

    def _path_for(self, symbol: str) -> Path:
        wanted = symbol.strip().upper()
        files = self._csv_files()
        matches = [p for p in files if p.stem.upper() == wanted]
        matches = matches or [p for p in files if p.stem.upper().startswith(wanted + "_")]
        if not matches:
            raise NoBarsError(f"no CSV for symbol {symbol} in {self.directory}")
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            raise DataError(f"several CSVs for symbol {symbol} in {self.directory} ({names}); keep one")
        return matches[0]

    def _bars(self, path: Path, symbol: str, timeframe: Timeframe) -> pd.DataFrame:
        stat = path.stat()
        signature = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != signature:
            cached = (signature, {"": self._load(path, symbol)})
            self._cache[path] = cached
        frames = cached[1]
        if timeframe.name not in frames:
            bars = frames[""]
            if timeframe.is_daily and self.extended_hours and native_minutes(bars.index) != 0:
                # a daily bar is the session's, as in the other feeds: extended prints stay intraday
                bars = bars[regular_session_mask(bars.index)]
            try:
                frames[timeframe.name] = resample_bars(bars, timeframe)
            except ValueError as exc:
                raise DataError(f"{path}: {exc}") from None
        return frames[timeframe.name]

    def _load(self, path: Path, symbol: str) -> pd.DataFrame:
        frame, counts = clean_bars(read_bars_csv(path), source=str(path), symbol=symbol)
        if frame.empty:
            dropped = ", ".join(f"{key}={n}" for key, n in counts.items() if n)
            raise DataError(f"{path}: no usable bars, cleaning dropped every row ({dropped})")
        minutes = native_minutes(frame.index)
        if minutes >= 24 * 60:  # one row per day at a time of day: a daily file whose dates carry a time
            first = frame.index[0].tz_convert(NEW_YORK)
            raise DataError(
                f"{path}: one row per day, but stamped with a time of day ({first:%Y-%m-%d %H:%M} "
                "New York): daily bars are read from dates alone (YYYY-MM-DD, or midnight New York); "
                "remove the time of day"
            )
        if not self.extended_hours and minutes != 0:
            regular = regular_session_mask(frame.index)
            outside = int((~regular).sum())
            if outside:
                frame = frame[regular]
                structlog.get_logger(__name__).info(
                    "extended_hours_dropped", source=str(path), symbol=symbol, rows=outside
                )
            if frame.empty:
                raise DataError(f"{path}: every bar is outside the regular session (extended_hours is off)")
        return frame


def read_bars_csv(path: Path) -> pd.DataFrame:
    """One CSV as raw bars (UTC ``ts`` index, float OHLCV, not yet cleaned); ``DataError`` if unusable."""
    try:
        # No usecols: with it pandas silently drops a row's surplus fields instead of raising.
        raw = _read_frame(path, None)
        columns, time_columns = _map_columns(path, [str(c) for c in raw.columns])
        if not all(pd.api.types.is_string_dtype(raw[c]) for c in time_columns):
            # a time column pandas read as numbers: read it again as the file's text
            raw = _read_frame(path, dict.fromkeys(time_columns, str))
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read {path}: {_one_line(exc)}") from None
    present = np.zeros(len(raw), dtype=bool)  # a row with any used cell (not a blank line)
    for column in (*time_columns, *columns.values()):
        values = raw[column].to_numpy()
        present |= ~np.isnan(values) if values.dtype.kind == "f" else ~pd.isna(values)
    if not present.all():
        raw = raw[present]  # blank lines
    if raw.empty:
        raise DataError(f"{path} holds a header but no rows")
    numbers = {name: _numbers(path, raw[column], name) for name, column in columns.items()}
    index = pd.DatetimeIndex(_timestamps(path, raw, time_columns), name="ts")
    _report_missing(path, numbers, raw.index)
    return pd.DataFrame(numbers, index=index)


def _read_frame(path: Path, dtype: dict[str, type] | None) -> pd.DataFrame:
    """The file as pandas reads it, row i of the frame on line i + 2 (``skip_blank_lines=False``),
    so that errors can name the line; a row one field longer than the header made pandas use the
    first field as an index, which is dropped."""
    raw = pd.read_csv(path, dtype=dtype, skip_blank_lines=False)
    if not isinstance(raw.index, pd.RangeIndex):
        raw = raw.reset_index(drop=True)
    return raw


def _report_missing(path: Path, numbers: dict[str, np.ndarray], rows: pd.Index) -> None:
    """Rows with an empty price are dropped by cleaning (``nan_price``): say which lines they are."""
    missing = np.isnan(numbers["open"]) | np.isnan(numbers["high"])
    missing |= np.isnan(numbers["low"]) | np.isnan(numbers["close"])
    if missing.any():
        lines = (np.asarray(rows)[missing] + 2).tolist()
        structlog.get_logger(__name__).warning(
            "bars_missing_fields",
            source=str(path),
            rows=len(lines),
            first_lines=lines[:5],
            note="rows with an empty open, high, low or close are left out",
        )


def _map_columns(path: Path, header: list[str]) -> tuple[dict[str, str], list[str]]:
    """``({bar column: file column}, [time column(s)])``, or ``DataError`` naming what is missing."""
    by_name: dict[str, str] = {}
    for column in header:
        by_name.setdefault(column.strip().lower(), column)  # the first of case-duplicates wins
    columns = {
        name: next(by_name[a] for a in aliases if a in by_name)
        for name, aliases in _COLUMN_ALIASES.items()
        if any(a in by_name for a in aliases)
    }
    if "datetime" not in by_name and "date" in by_name and "time" in by_name:
        time_columns = [by_name["date"], by_name["time"]]
    else:
        time_columns = [by_name[n] for n in _TIME_NAMES if n in by_name][:1]
    if not time_columns and header and (header[0] == "" or header[0].startswith("Unnamed: ")):
        time_columns = [header[0]]  # a frame saved with an unnamed DatetimeIndex
    missing = [name for name in BAR_COLUMNS if name not in columns]
    if not time_columns:
        missing.insert(0, f"time (one of {'/'.join(_TIME_NAMES)})")
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; header is {','.join(header)}")
    return columns, time_columns


_LARGEST = 1e15


def _numbers(path: Path, values: pd.Series, name: str) -> np.ndarray:
    """Float values; an empty cell is NaN (cleaned later), a non-numeric one is a ``DataError``."""
    if values.dtype.kind in "iuf":  # pandas parsed every cell as a number: nothing to convert
        numbers = values.to_numpy("float64")
    else:
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            row = bad.idxmax()
            raise DataError(f"{path}: line {row + 2}: {name} {_cell(values[row])} is not a number")
        numbers = converted.to_numpy("float64")
    # inf, and magnitudes no price or volume reaches, which overflow later arithmetic (1e308)
    with np.errstate(invalid="ignore"):
        huge = ~(np.abs(numbers) < _LARGEST) & ~np.isnan(numbers)
    if huge.any():
        row = values.index[int(huge.argmax())]
        raise DataError(
            f"{path}: line {row + 2}: {name} {_cell(values[row])} is not a finite number below {_LARGEST:g}"
        )
    return numbers


def _timestamps(path: Path, raw: pd.DataFrame, time_columns: list[str]) -> pd.Series:
    """UTC timestamps of the rows of ``raw`` (see the module docstring for the rules)."""
    days = _all_dates(raw[time_columns[0]]) if len(time_columns) == 1 else None
    if days is not None:
        # every row a bare "YYYY-MM-DD" (a daily export): what the date branch below gives,
        # without its per-row regular expressions
        dates = pd.DatetimeIndex(days).as_unit("ns")
        return pd.Series(dates.tz_localize(NEW_YORK).tz_convert("UTC"), index=raw.index)
    instants = _all_offset_times(raw[time_columns[0]]) if len(time_columns) == 1 else None
    if instants is not None:
        # every row "YYYY-MM-DD HH:MM:SS+HH:MM" with real fields (an intraday export): what the
        # offset branch below gives, from the characters' codes
        return pd.Series(pd.DatetimeIndex(instants).tz_localize("UTC"), index=raw.index)
    text = raw[time_columns[0]]
    laid_out = len(time_columns) == 1 and _all_with_offset(text)  # then nothing to strip either
    if not laid_out:
        text = text.str.strip()
    if len(time_columns) == 2:
        text = text + " " + raw[time_columns[1]].str.strip()
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    present = text.notna()
    if laid_out or (present.all() and _all_with_offset(text)):
        # every row "YYYY-MM-DD HH:MM:SS+HH:MM" (an intraday export): what the aware branch below
        # gives, without its per-row regular expressions
        parsed[:] = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    elif present.all() and text.str.match(_DATE_ONLY).all():
        dates = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        parsed[:] = _localize(dates)
    else:
        aware = present & text.str.contains(_AWARE)
        naive = present & ~aware
        if aware.any():
            cleaned = text[aware].str.replace(r"\s*(?:Z|UTC|GMT)$", "+00:00", regex=True, case=False)
            cleaned = cleaned.str.replace(r"\s+([+-]\d\d(?::?\d\d)?)$", r"\1", regex=True)
            parsed[aware] = pd.to_datetime(cleaned, utc=True, format="ISO8601", errors="coerce")
        if naive.any():
            parsed[naive] = _localize(pd.to_datetime(text[naive], format="ISO8601", errors="coerce"))
    bad = parsed.isna()
    if bad.any():
        row = bad.idxmax()
        column = "+".join(time_columns)
        raise DataError(
            f"{path}: line {row + 2}: cannot read {column} {_cell(text[row])} as a time ({_EXAMPLE})"
        )
    return parsed


_OFFSET_LAYOUT = "dddd-dd-ddTdd:dd:dd+dd:dd"  # T: a space or "T"; +: a sign
_DATE_LAYOUT = "dddd-dd-dd"
# the days a nanosecond timestamp can hold (pandas' range), with a margin
_FIRST_DAY, _LAST_DAY = np.datetime64("1678-01-01"), np.datetime64("2262-01-01")


def _all_with_offset(text: pd.Series) -> bool:
    """True when every value is laid out exactly as ``_OFFSET_LAYOUT`` (checked column by column
    on a character array, not row by row)."""
    return _all_laid_out(text.tolist(), _OFFSET_LAYOUT)


def _all_dates(column: pd.Series) -> np.ndarray | None:
    """The days, when every value is a string laid out exactly as ``YYYY-MM-DD``, a real date
    (month 01-12, a day the month has) inside pandas' range (NumPy reads these as the date branch
    does); else None."""
    values = column.to_numpy()
    if not len(values) or not isinstance(values[0], str) or len(values[0]) != len(_DATE_LAYOUT):
        return None  # at a glance: not a column of dates (an intraday export)
    codes = _laid_out_codes(values, _DATE_LAYOUT)
    if codes is None:
        return None
    # the fields from the characters' codes (NumPy's own string-to-date parse took 4x as long,
    # for the same days); a month 13 or a 2021-02-30 is left to the branch that names the line
    return _real_days(_field(codes, 0, 4), _field(codes, 5, 2), _field(codes, 8, 2))


def _all_offset_times(column: pd.Series) -> np.ndarray | None:
    """The instants (``datetime64[ns]``, UTC), when every value is a string laid out exactly as
    ``_OFFSET_LAYOUT`` with real fields: a date the calendar has, a time of day before 24:00:00
    and an offset of at most 14 hours (what ``pd.to_datetime(..., format="ISO8601")`` reads
    the same way); else None, and the branch that names a bad line decides."""
    values = column.to_numpy()
    if not len(values) or not isinstance(values[0], str) or len(values[0]) != len(_OFFSET_LAYOUT):
        return None  # at a glance: not this layout
    codes = _laid_out_codes(values, _OFFSET_LAYOUT)
    if codes is None:
        return None
    # the fields from the characters' codes (NumPy's and pandas' own parses took 3x as long)
    hour, minute, second = _field(codes, 11, 2), _field(codes, 14, 2), _field(codes, 17, 2)
    offset_hours, offset_minutes = _field(codes, 20, 2), _field(codes, 23, 2)
    if not (
        (hour < 24).all()
        and (minute < 60).all()
        and (second < 60).all()
        and ((offset_hours * 60 + offset_minutes) <= 14 * 60).all()
        and (offset_minutes < 60).all()
    ):
        return None
    days = _real_days(_field(codes, 0, 4), _field(codes, 5, 2), _field(codes, 8, 2))
    if days is None:
        return None
    sign = np.where(codes[:, 19] == ord("-"), -1, 1)
    seconds = (
        days.astype(np.int64) * 86_400
        + hour * 3600
        + minute * 60
        + second
        - sign * (offset_hours * 3600 + offset_minutes * 60)
    )
    return (seconds * 1_000_000_000).astype("datetime64[ns]")


def _field(codes: np.ndarray, first: int, size: int) -> np.ndarray:
    """The number written by the digits in columns ``first`` to ``first + size`` of every row."""
    value = codes[:, first].astype(np.int64) - ord("0")
    for i in range(first + 1, first + size):
        value = value * 10 + (codes[:, i].astype(np.int64) - ord("0"))
    return value


def _real_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray | None:
    """The days (``datetime64[D]``) when every (year, month, day) is a date the calendar has
    inside pandas' range; else None."""
    if not ((month >= 1) & (month <= 12)).all():
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    length = ((months + 1).astype("datetime64[D]") - first).astype(np.int64)  # days in the month
    if not ((day >= 1) & (day <= length)).all():
        return None
    days = first + (day - 1).astype("timedelta64[D]")
    return days if ((days >= _FIRST_DAY) & (days <= _LAST_DAY)).all() else None


def _all_laid_out(values: list | np.ndarray, layout: str) -> bool:
    """Whether every string is ``layout`` character for character (see ``_laid_out_codes``)."""
    return _laid_out_codes(values, layout) is not None


def _laid_out_codes(values: list | np.ndarray, layout: str) -> np.ndarray | None:
    """The characters' codes (one row a value, ``len(layout)`` columns) when every value is a
    string laid out exactly as ``layout`` (d: a digit, T: a space or T, +: a sign, anything else
    itself); else None. Checked column by column on the codes, not row by row."""
    width = len(layout)
    if not len(values):
        return None
    try:
        text = np.asarray(values).astype(f"<U{width + 1}")  # one more: a longer value shows as longer
    except (TypeError, ValueError):
        return None
    codes = text.view(np.uint32).reshape(len(text), width + 1)
    if codes[:, width].any():
        return None  # longer than the layout (a shorter one fails its last column below)
    codes = codes[:, :width]
    digits = [i for i, kind in enumerate(layout) if kind == "d"]
    # a code below "0" wraps around (unsigned), so one comparison bounds a digit
    if not ((codes[:, digits] - np.uint32(ord("0"))) <= 9).all():
        return None
    for i, kind in enumerate(layout):
        allowed = {"d": "", "T": " T", "+": "+-"}.get(kind, kind)
        if allowed and not np.logical_or.reduce([codes[:, i] == ord(c) for c in allowed]).all():
            return None
    return codes


def _localize(wall: pd.Series) -> pd.Series:
    """New York wall times to UTC.

    In the repeated hour when DST ends, the first row showing a wall time is the earlier (EDT)
    instant and a repeat is the later (EST) one, which is how a time-ordered file reads. A wall
    time skipped when DST starts is read as standard time (the source missed the switch), which
    keeps 02:30 and 02:31 distinct instead of piling them onto 03:00.
    """
    first_seen = ~wall.duplicated(keep="first").to_numpy()
    index = pd.DatetimeIndex(wall).as_unit("ns")
    local = index.tz_localize(NEW_YORK, ambiguous=first_seen, nonexistent=pd.Timedelta(hours=1))
    return pd.Series(local.tz_convert("UTC"), index=wall.index)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "(empty)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
