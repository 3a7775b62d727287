"""CsvFeed on the real files in ../shared/data (skipped when absent) and on synthetic bad inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from structlog.testing import capture_logs

from bot.calendar.timeframes import TIMEFRAMES
from bot.data import csv_feed
from bot.data.base import BAR_COLUMNS
from bot.data.cleaning import CLEANING_KEYS, clean_bars
from bot.data.csv_feed import CsvFeed
from bot.data.resample import regular_session_mask
from bot.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DAILY_SYMBOLS = ["AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA"]
DAY, HOUR, MINUTE = TIMEFRAMES["1Day"], TIMEFRAMES["1Hour"], TIMEFRAMES["1Min"]
HEADER = "time,open,high,low,close,volume\n"
GOOD_ROW = "2021-07-01 09:30,1,2,0.5,1.5,100"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def shared(folder: str) -> Path:
    path = SHARED_DATA / folder
    if not path.is_dir():
        pytest.skip(f"../shared/data is absent: real-data tests need {path}")
    return path


@pytest.fixture(scope="module")
def daily_feed() -> CsvFeed:
    return CsvFeed(shared("daily"))


@pytest.fixture(scope="module")
def minute_feed() -> CsvFeed:
    return CsvFeed(shared("minute"))


@pytest.fixture(scope="module")
def minute_feed_extended() -> CsvFeed:
    return CsvFeed(shared("minute"), extended_hours=True)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def assert_bars_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(BAR_COLUMNS)
    assert str(frame.index.tz) == "UTC" and frame.index.name == "ts"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert (frame.dtypes == "float64").all() and np.isfinite(frame.to_numpy()).all()
    assert (frame[["open", "high", "low", "close"]] > 0).all().all() and (frame["volume"] > 0).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", DAILY_SYMBOLS)
def test_daily_file_reads_every_row_at_midnight_new_york(daily_feed: CsvFeed, symbol: str) -> None:
    bars = daily_feed.history([symbol], None, None, DAY)[symbol]
    assert len(bars) == 2768
    assert bars.index[0] == utc("2013-01-02 05:00")  # midnight EST
    assert bars.index[-1] == utc("2023-12-29 05:00")
    assert bars.loc["2013-07-01"].index[0] == utc("2013-07-01 04:00")  # midnight EDT
    assert_bars_frame(bars)


def test_daily_values_and_symbols(daily_feed: CsvFeed) -> None:
    assert daily_feed.available_symbols() == DAILY_SYMBOLS
    assert daily_feed.name == f"csv:{SHARED_DATA / 'daily'}" and daily_feed.synthetic is False
    first = daily_feed.history(["aapl"], None, None, DAY)["aapl"].iloc[0]
    assert first["open"] == pytest.approx(19.779285430908203)
    assert first["volume"] == 560518000


def test_daily_data_cannot_make_minute_bars(daily_feed: CsvFeed) -> None:
    with pytest.raises(DataError, match=r"AAPL\.csv.*1Day.*1Min"):
        daily_feed.history(["AAPL"], None, None, MINUTE)


def test_spy_offsets_land_on_the_right_instant(minute_feed_extended: CsvFeed) -> None:
    bars = minute_feed_extended.history(["SPY"], None, None, MINUTE)["SPY"]
    assert len(bars) == 12131
    assert bars.index[0] == utc("2021-07-01 16:56")  # 12:56-04:00
    assert bars.iloc[0]["open"] == 429.5
    assert bars.index[-1] == utc("2021-08-13 20:43")  # 16:43-04:00, after the close
    assert not regular_session_mask(bars.index).all()


def test_spy_extended_hours_dropped_by_default(minute_feed: CsvFeed) -> None:
    bars = minute_feed.history(["SPY"], None, None, MINUTE)["SPY"]
    assert len(bars) == 12131 - 499
    assert regular_session_mask(bars.index).all()
    assert bars.index[-1] == utc("2021-08-13 19:59")
    assert_bars_frame(bars)


def test_alpaca_export_is_utc_and_extra_columns_are_ignored(
    minute_feed: CsvFeed, minute_feed_extended: CsvFeed
) -> None:
    everything = minute_feed_extended.history(["AMZN"], None, None, MINUTE)["AMZN"]
    assert len(everything) == 2450 and list(everything.columns) == list(BAR_COLUMNS)
    assert everything.index[0] == utc("2021-01-01 00:01")
    session = minute_feed.history(["AMZN"], None, None, MINUTE)["AMZN"]
    assert session.index[0] == utc("2021-01-04 14:30")  # 09:30 EST
    assert session.iloc[0].tolist() == [163.45, 163.6, 163.02, 163.07, 2399220.0]


def test_spy_hourly_and_daily_match_a_hand_check(minute_feed: CsvFeed, minute_feed_extended: CsvFeed) -> None:
    # Sums taken with awk over the raw file (13:00-13:59 and 09:30-15:59 New York, 2021-07-01).
    hourly = minute_feed.history(["SPY"], None, None, HOUR)["SPY"]
    assert hourly.loc[utc("2021-07-01 17:00")].tolist() == [429.47, 430.17, 429.43, 429.915, 97932.0]
    # 2021-07-02 09:00 holds 09:30-09:59 only; with extended hours 09:25-09:29 join it.
    assert hourly.loc[utc("2021-07-02 13:00")].tolist() == [431.66, 431.92, 431.33, 431.82, 76006.0]
    extended = minute_feed_extended.history(["SPY"], None, None, HOUR)["SPY"]
    assert extended.loc[utc("2021-07-02 13:00")].tolist() == [431.78, 431.92, 431.33, 431.82, 78334.0]
    daily = minute_feed.history(["SPY"], None, None, DAY)["SPY"]
    assert daily.loc[utc("2021-07-01 04:00")].tolist() == [429.5, 430.6, 429.43, 430.47, 633304.0]
    assert_bars_frame(hourly)
    assert_bars_frame(daily)


# --- synthetic files ----------------------------------------------------------------------------


def test_clean_bars_counts_every_rule() -> None:
    index = pd.DatetimeIndex(
        [utc(f"2021-01-04 15:{m:02d}") for m in (0, 2, 1, 1, 3, 4, 5, 6, 7, 8, 9)], name="ts"
    )
    rows = [
        [10, 11, 9, 10, 100],  # kept
        [10, 11, 9, 10, 100],  # out of order: 15:02 before 15:01
        [10, 11, 9, 10, 100],  # duplicate 15:01: the later row wins
        [20, 21, 19, 20, 100],
        [np.nan, 11, 9, 10, 100],  # nan_price
        [10, np.inf, 9, 10, 100],  # nan_price
        [0, 11, 9, 10, 100],  # non_positive_price
        [10, 9, 11, 10, 100],  # high_below_low
        [10, 11, 9, 10, 0],  # zero_volume
        [10, 11, 9, 10, -5],  # bad_volume
        [10, 10.5, 10.2, 11, np.nan],  # zero_volume (missing volume)
    ]
    raw = pd.DataFrame(rows, index=index, columns=list(BAR_COLUMNS), dtype="float64")
    raw.loc[utc("2021-01-04 15:00"), ["high", "low"]] = [9.9, 9.0]  # high under the body: repaired
    with capture_logs() as logs:
        frame, counts = clean_bars(raw, source="mem", symbol="X")
    assert set(counts) == set(CLEANING_KEYS)
    assert {k: n for k, n in counts.items() if n} == {
        "nan_price": 2,
        "non_positive_price": 1,
        "high_below_low": 1,
        "zero_volume": 2,
        "bad_volume": 1,
        "duplicate_ts": 1,
        "out_of_order": 1,
        "high_low_outside_body": 1,
    }
    assert list(frame.index) == [utc("2021-01-04 15:00"), utc("2021-01-04 15:01"), utc("2021-01-04 15:02")]
    assert frame.iloc[1]["open"] == 20
    assert frame.iloc[0][["high", "low"]].tolist() == [10.0, 9.0]
    assert_bars_frame(frame)
    assert logs == [
        {
            "event": "bars_cleaned",
            "log_level": "warning",
            "source": "mem",
            "symbol": "X",
            "rows": 3,
            **{k: n for k, n in counts.items() if n},
        }
    ]
    assert len(raw) == 11  # input untouched


def test_nan_and_negative_prices_are_dropped_counted_and_logged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "AAPL.csv",
        HEADER
        + "\n".join(
            [
                "2021-07-01 10:00:00-04:00,1,2,0.5,1.5,100",
                "2021-07-01 10:01:00-04:00,1,2,0.5,1.5,100",
                "2021-07-01 10:02:00-04:00,1,2,0.5,,100",
                "2021-07-01 10:03:00-04:00,1,nan,0.5,1.5,100",
                "2021-07-01 10:04:00-04:00,-1,2,0.5,1.5,100",
            ]
        )
        + "\n",
    )
    with capture_logs() as logs:
        bars = CsvFeed(tmp_path).history(["AAPL"], None, None, MINUTE)["AAPL"]
    assert list(bars.index) == [utc("2021-07-01 14:00"), utc("2021-07-01 14:01")]
    (event,) = [e for e in logs if e["event"] == "bars_cleaned"]
    assert event["log_level"] == "warning" and event["source"] == str(path) and event["symbol"] == "AAPL"
    assert event["nan_price"] == 2 and event["non_positive_price"] == 1


def test_duplicates_out_of_order_high_below_low_and_zero_volume(tmp_path: Path) -> None:
    write(
        tmp_path,
        "X.csv",
        "Date,Open,High,Low,Close,Volume\n"
        + "\n".join(
            [
                "2021-01-05,2,3,1,2,10",
                "2021-01-04,1,3,1,2,10",  # out of order, but dropping the first 01-05 fixes that
                "2021-01-05,2,3,1,2.5,10",  # duplicate: this one is kept
                "2021-01-12,2,3,1,2,10",
                "2021-01-11,2,3,1,2,10",  # out of order
                "2021-01-06,2,1,3,2,10",  # high < low
                "2021-01-07,2,3,1,2,0",  # zero volume
                "2021-01-08,2,3,1,2,",  # missing volume
            ]
        )
        + "\n",
    )
    with capture_logs() as logs:
        bars = CsvFeed(tmp_path).history(["X"], None, None, DAY)["X"]
    assert [t.date().isoformat() for t in bars.index.tz_convert("America/New_York")] == [
        "2021-01-04",
        "2021-01-05",
        "2021-01-11",
        "2021-01-12",
    ]
    assert bars.loc[utc("2021-01-05 05:00"), "close"] == 2.5  # the last duplicate wins
    (event,) = logs
    assert (event["duplicate_ts"], event["out_of_order"], event["high_below_low"]) == (1, 1, 1)
    assert event["zero_volume"] == 2
    assert_bars_frame(bars)


@pytest.mark.parametrize("index_header", [",", "Unnamed: 0,", ""], ids=["blank", "unnamed", "implicit"])
def test_header_case_and_unnamed_index_column(tmp_path: Path, index_header: str) -> None:
    write(
        tmp_path,
        "msft.csv",
        f"{index_header} DATE ,Open,HIGH,low,Close,VOLUME,Adj Close\n"
        "0,2021-01-04,1,2,0.5,1.5,100,1.4\n1,2021-01-05,1,2,0.5,1.5,100,1.4\n",
    )
    bars = CsvFeed(tmp_path).history(["MSFT"], None, None, DAY)["MSFT"]
    assert list(bars.index) == [utc("2021-01-04 05:00"), utc("2021-01-05 05:00")]
    assert bars.iloc[0].tolist() == [1.0, 2.0, 0.5, 1.5, 100.0]


def test_naive_times_are_new_york_across_dst(tmp_path: Path) -> None:
    write(
        tmp_path,
        "X.csv",
        HEADER
        + "\n".join(
            [
                "2021-03-12 09:30:00,1,2,0.5,1.5,100",  # EST
                "2021-03-14 02:30:00,1,2,0.5,1.5,100",  # skipped by the clocks: read as EST
                "2021-03-15 09:30:00,1,2,0.5,1.5,100",  # EDT
                "2021-11-07 01:30:00,1,2,0.5,1.5,100",  # the repeated hour: first EDT ...
                "2021-11-07 01:30:00,1,2,0.5,1.5,100",  # ... then EST
                "2021-11-08 09:30:00,1,2,0.5,1.5,100",
                "2021-11-08 09:31:00,1,2,0.5,1.5,100",  # makes the file 1Min data
            ]
        )
        + "\n",
    )
    bars = CsvFeed(tmp_path, extended_hours=True).history(["X"], None, None, MINUTE)["X"]
    assert list(bars.index) == [
        utc(t)
        for t in (
            "2021-03-12 14:30",
            "2021-03-14 07:30",
            "2021-03-15 13:30",
            "2021-11-07 05:30",
            "2021-11-07 06:30",
            "2021-11-08 14:30",
            "2021-11-08 14:31",
        )
    ]


def test_mixed_offsets_and_utc_spellings(tmp_path: Path) -> None:
    write(
        tmp_path,
        "X.csv",
        "timestamp,open,high,low,close,volume\n"
        + "\n".join(
            [
                "2021-11-05 09:30:00-04:00,1,2,0.5,1.5,100",
                "2021-11-08 09:30:00-05:00,1,2,0.5,1.5,100",
                "2021-11-08T14:31:00Z,1,2,0.5,1.5,100",
                "2021-11-08 14:32:00 UTC,1,2,0.5,1.5,100",
            ]
        )
        + "\n",
    )
    bars = CsvFeed(tmp_path).history(["X"], None, None, MINUTE)["X"]
    assert list(bars.index) == [
        utc("2021-11-05 13:30"),
        utc("2021-11-08 14:30"),
        utc("2021-11-08 14:31"),
        utc("2021-11-08 14:32"),
    ]


def test_daily_rows_at_utc_midnight_are_dates(tmp_path: Path) -> None:
    write(tmp_path, "X.csv", "t,o,h,l,c,v\n2021-07-01T00:00:00Z,1,2,0.5,1.5,100\n")
    bars = CsvFeed(tmp_path).history(["X"], None, None, DAY)["X"]
    assert list(bars.index) == [utc("2021-07-01 04:00")]


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    write(tmp_path, "X.csv", "date,time,open,high,low,close,volume\n2021-07-01,09:30,1,2,0.5,1.5,100\n")
    bars = CsvFeed(tmp_path).history(["X"], None, None, MINUTE)["X"]
    assert list(bars.index) == [utc("2021-07-01 13:30")]


def test_missing_columns_are_named(tmp_path: Path) -> None:
    write(tmp_path, "X.csv", "time,open,high,close\n2021-07-01 09:30,1,2,1.5\n")
    with pytest.raises(DataError, match=r"X\.csv lacks column\(s\) low, volume"):
        CsvFeed(tmp_path).history(["X"], None, None, MINUTE)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([GOOD_ROW, "2021-07-0x 09:31,1,2,0.5,1.5,100"], r"line 3: .*'2021-07-0x 09:31'"),
        ([GOOD_ROW, "", ",1,2,0.5,1.5,100"], r"line 4: cannot read time \(empty\)"),
        ([GOOD_ROW, "2021-07-01 09:31,1,2,0.5,abc,100"], r"line 3: close 'abc'"),
        ([GOOD_ROW, "", "2021-07-01 09:31,1,2,0.5,1.5,100,7"], r".*line 4, saw 7"),  # a surplus field
    ],
)
def test_bad_cells_name_file_and_line(tmp_path: Path, rows: list[str], message: str) -> None:
    write(tmp_path, "X.csv", HEADER + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"X\.csv:? " + message) as caught:
        CsvFeed(tmp_path).history(["X"], None, None, MINUTE)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [("", "is empty"), (HEADER, "no rows")])
def test_empty_files(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "X.csv", text)
    with pytest.raises(DataError, match=message):
        CsvFeed(tmp_path).history(["X"], None, None, MINUTE)


def test_slice_is_inclusive_and_an_empty_range_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "AAPL.csv",
        "Date,Open,High,Low,Close,Volume\n"
        + "".join(f"2021-01-{d:02d},1,2,0.5,1.5,100\n" for d in (4, 5, 6, 7, 8)),
    )
    feed = CsvFeed(tmp_path)
    bars = feed.history(["AAPL"], datetime(2021, 1, 5), utc("2021-01-07 05:00"), DAY)["AAPL"]
    assert list(bars.index) == [utc("2021-01-05 05:00"), utc("2021-01-06 05:00"), utc("2021-01-07 05:00")]
    with pytest.raises(DataError, match=f"^no AAPL bars between 2030-01-01 and 2030-02-01 in {path}$"):
        feed.history(["AAPL"], datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC), DAY)


def test_a_date_end_includes_that_whole_day(minute_feed: CsvFeed) -> None:
    bars = minute_feed.history(["SPY"], date(2021, 7, 2), date(2021, 7, 2), MINUTE)["SPY"]
    assert bars.index[0] == utc("2021-07-02 13:30") and bars.index[-1] == utc("2021-07-02 19:59")
    assert_bars_frame(bars)


def test_missing_folder_and_missing_symbol(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^csv source folder .*nope does not exist$"):
        CsvFeed(tmp_path / "nope")
    write(tmp_path, "SPY_2021-07.csv", HEADER + "2021-07-01 09:30,1,2,0.5,1.5,100\n")
    feed = CsvFeed(tmp_path)
    assert feed.available_symbols() == ["SPY"]
    assert len(feed.history(["spy"], None, None, MINUTE)["spy"]) == 1
    with pytest.raises(DataError, match=f"^no CSV for symbol XYZ in {tmp_path}$"):
        feed.history(["XYZ"], None, None, MINUTE)


def test_parsed_files_are_cached_until_they_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real_read = csv_feed.read_bars_csv
    monkeypatch.setattr(csv_feed, "read_bars_csv", lambda path: calls.append(path) or real_read(path))
    path = write(tmp_path, "X.csv", HEADER + "2021-07-01 09:30,1,2,0.5,1.5,100\n")
    feed = CsvFeed(tmp_path)
    for _ in range(3):
        feed.history(["X"], None, None, MINUTE)
        feed.history(["X"], None, None, HOUR)
    assert len(calls) == 1
    path.write_text(HEADER + "2021-07-01 09:30,1,2,0.5,1.5,100\n2021-07-01 09:31,1,2,0.5,1.5,100\n")
    assert len(feed.history(["X"], None, None, MINUTE)["X"]) == 2
    assert len(calls) == 2


@pytest.mark.parametrize("cell", ["1e308", "inf", "-inf", "2e15"])
def test_an_overflowing_or_infinite_value_names_the_file_and_line(tmp_path, cell):
    (tmp_path / "HUGE.csv").write_text(
        f"date,open,high,low,close,volume\n2021-01-04,1,2,0.5,1.5,100\n2021-01-05,1,2,0.5,{cell},100\n"
    )
    with pytest.raises(DataError, match=r"HUGE\.csv: line 3: close .* is not a finite number"):
        CsvFeed(tmp_path).history(["HUGE"], None, None, DAY)


def test_rows_with_missing_fields_are_reported_by_line(tmp_path):
    rows = [f"2021-01-{d:02d},1,2,0.5,1.5,100" for d in range(4, 9)]
    rows[1] = "2021-01-05,1,,0.5,1.5,100"  # line 3
    rows[3] = "2021-01-07,1,2,0.5,,100"  # line 5
    (tmp_path / "GAPS.csv").write_text("date,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    with capture_logs() as logs:
        frame = CsvFeed(tmp_path).history(["GAPS"], None, None, DAY)["GAPS"]
    assert len(frame) == 3
    missing = [e for e in logs if e["event"] == "bars_missing_fields"]
    assert len(missing) == 1 and missing[0]["rows"] == 2 and missing[0]["first_lines"] == [3, 5]


def test_a_daily_file_stamped_with_a_time_of_day_says_so(tmp_path):
    rows = [f"2021-01-{d:02d} 16:00:00,1,2,0.5,1.5,100" for d in range(4, 9)]
    (tmp_path / "STAMP.csv").write_text("time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"STAMP\.csv: one row per day, but stamped with a time of day"):
        CsvFeed(tmp_path).history(["STAMP"], None, None, DAY)


def test_a_date_column_reads_the_days_numpy_reads_and_refuses_what_it_refuses() -> None:
    """The date fast path (fields from the characters' codes) against NumPy's own parse: the same
    days for real dates in pandas' range, None for month 00/13, day 00/32, Feb 29 outside leap
    years and years outside the range (left to the branch that names the line)."""
    rng = np.random.default_rng(11)
    years = [0, 1600, 1677, 1678, 1900, 2000, 2023, 2024, 2261, 2262, 9999]
    for _ in range(2000):
        cells = [
            f"{rng.choice(years):04d}-{rng.integers(0, 14):02d}-{rng.integers(0, 33):02d}"
            for _ in range(rng.integers(1, 4))
        ]
        try:
            expected = np.array(cells).astype("datetime64[D]")
            usable = (
                (expected >= np.datetime64("1678-01-01")) & (expected <= np.datetime64("2262-01-01"))
            ).all()
        except ValueError:  # NumPy refuses the cell (no such day)
            expected, usable = None, False
        got = csv_feed._all_dates(pd.Series(cells))
        if usable:
            assert got is not None and (got == expected).all(), cells
        else:
            assert got is None, cells


def test_offset_times_read_the_instants_pandas_reads_and_leave_what_it_might_refuse() -> None:
    """The offset fast path (fields from the characters' codes) against ``pd.to_datetime``'s
    ISO 8601 parse: the same instants for real times with offsets up to 14 hours, either
    separator and sign; None (the branch that names the line decides) for month 13, day 31 of a
    30-day month, hour 24, minute or second 60, an offset past 14 hours, or a value of another
    length."""
    rng = np.random.default_rng(12)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        cells = [
            f"{rng.integers(1700, 2250):04d}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
            f"{rng.choice([' ', 'T'])}{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:{rng.integers(0, 60):02d}"
            f"{rng.choice(['+', '-'])}{rng.integers(0, 14):02d}:{rng.choice([0, 30, 45]):02d}"
            for _ in range(n)
        ]
        got = csv_feed._all_offset_times(pd.Series(cells))
        expected = pd.to_datetime(pd.Series(cells), utc=True, format="ISO8601")
        assert (
            got is not None and (pd.DatetimeIndex(got).tz_localize("UTC") == pd.DatetimeIndex(expected)).all()
        )
    good = "2021-07-01 09:30:00-04:00"
    for bad in (
        "2021-13-01 09:30:00-04:00",
        "2021-04-31 09:30:00-04:00",
        "2021-02-29 09:30:00-04:00",
        "2021-07-01 24:00:00-04:00",
        "2021-07-01 09:60:00-04:00",
        "2021-07-01 09:30:60-04:00",
        "2021-07-01 09:30:00-15:00",
        "2021-07-01 09:30:00-0400",
        "2021-07-01 09:30:00-04:00 ",
        "2021-07-01 09:30:00Z",
        "2021/07/01 09:30:00-04:00",
    ):
        assert csv_feed._all_offset_times(pd.Series([good, bad])) is None, bad
    assert csv_feed._all_offset_times(pd.Series([good, None])) is None
