import pytest

from bot.news.symbols import SymbolMatcher

ALIASES = {
    "AAPL": ["Apple"],
    "MSFT": ["Microsoft", "Microsoft Corp"],
    "XOM": ["Exxon"],
    "BAC": ["Bank of America"],
}


@pytest.fixture
def matcher() -> SymbolMatcher:
    return SymbolMatcher(["AAPL", "MSFT", "T", "ON", "IT", "BRK.B", "A", "BAC"], ALIASES)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AAPL rallies after earnings", ("AAPL",)),
        ("AAPL's margin widens", ("AAPL",)),
        ("Shares of (MSFT) slip.", ("MSFT",)),
        ("Bought AAPL.", ("AAPL",)),
        ("aapl rallies", ()),  # plain tickers only in upper case
        ("AAPLX fund launches", ()),  # whole words only
        ("XAAPL", ()),
        ("$aapl and $Msft up", ("AAPL", "MSFT")),  # cashtags in any case
        ("$AAPL's run", ("AAPL",)),
        ("$AAPLX", ()),
        ("Apple's new phone", ("AAPL",)),
        ("APPLE unveils", ("AAPL",)),
        ("Pineapple prices soar", ()),
        ("Apples and oranges", ()),
        ("Microsoft   Corp beats", ("MSFT",)),
        ("bank of america raises rates", ("BAC",)),
        ("Exxon drills", ()),  # an alias of a symbol we do not trade
        ("BRK.B climbs", ("BRK.B",)),
    ],
)
def test_tickers_cashtags_and_names(matcher, text, expected):
    assert matcher.match(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("T-Mobile wins customers", ()),  # T glued by a hyphen
        ("AT&T cuts prices", ()),
        ("S&P 500 hits a record", ()),
        ("$T dividend", ("T",)),
        ("A new plan for Class A shares", ()),  # a one-letter ticker only as a cashtag
        ("$A beats estimates", ("A",)),
        ("IT spending rises; ON semiconductor up", ("IT", "ON")),  # upper-case words in normal text count
        ("it is on the way", ()),
        ("ON THE BRINK: IT IS ALL OVER FOR BANKS", ()),  # a shouting headline: plain tickers ignored
        ("MARKETS FALL AS APPLE SLUMPS", ("AAPL",)),  # ... but names and cashtags still count
    ],
)
def test_short_tickers_that_are_words(matcher, text, expected):
    assert matcher.match(text) == expected


def test_result_is_sorted_and_unique(matcher):
    assert matcher.match("MSFT, Apple, $AAPL and Microsoft: AAPL vs MSFT") == ("AAPL", "MSFT")


def test_no_symbols_matches_nothing():
    assert SymbolMatcher([], ALIASES).match("Apple AAPL $AAPL") == ()
    assert SymbolMatcher(["aapl "], {}).match("AAPL up") == ("AAPL",)  # symbols are normalised
