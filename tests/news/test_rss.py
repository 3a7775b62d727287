"""RssFetcher against the local feed server: formats, text, dates, de-duplication, HTTP behaviour."""

from __future__ import annotations

import gzip
from datetime import UTC
from email.utils import parsedate_to_datetime

import pytest
from structlog.testing import capture_logs

from bot.news.rss import Feed, expand_feeds

from fakes.feed_docs import Item, atom_document, rss_document
from newskit import FIXED_NOW, SMALL_ITEMS, MutableClock, expected_unique, make_fetcher

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml"}


@pytest.mark.parametrize("build, headers", [(rss_document, RSS), (atom_document, ATOM)], ids=["rss2", "atom"])
def test_real_bbc_items_parse_in_rss_and_atom(feed_server, bbc_rows, build, headers):
    url = feed_server.route("/bbc.xml", build(bbc_rows), headers=headers)
    got = make_fetcher([url], clock=MutableClock()).fetch()
    want = expected_unique(bbc_rows)
    assert len(want) < len(bbc_rows)  # the real capture repeats stories: de-duplication is exercised
    assert [h.title for h in got] == [i.title for i in want]
    for h, item in zip(got, want):
        assert h.source == f"rss:{url}" and h.guid == item.guid and h.link == item.link
        assert h.summary == item.description
        assert h.published_at == parsedate_to_datetime(item.pub_date).astimezone(UTC)
        assert not h.published_estimated and h.fetched_at == FIXED_NOW
        assert h.scorer_version == "stub-1" and h.score is not None and h.label


@pytest.mark.parametrize("build, headers", [(rss_document, RSS), (atom_document, ATOM)], ids=["rss2", "atom"])
def test_small_items_without_shared_data(feed_server, build, headers):
    url = feed_server.route("/small.xml", build(SMALL_ITEMS), headers=headers)
    got = make_fetcher(
        [url],
        clock=MutableClock(),
        symbols=["AAPL", "MSFT"],
        aliases={"AAPL": ["Apple"], "MSFT": ["Microsoft"]},
    ).fetch()
    assert [(h.title, h.symbols) for h in got] == [
        ("Apple shares rise after record quarter", ("AAPL",)),
        ("Microsoft cuts cloud prices", ("MSFT",)),
        ("Oil slides as demand fears grow", ()),
    ]
    assert got[0].published_at.isoformat() == "2024-01-02T14:30:00+00:00"
    assert got[0].score == 0.5 and got[0].label == "positive"


def test_gzip_body_is_decoded(feed_server):
    url = feed_server.route("/gz.xml", rss_document(SMALL_ITEMS), headers=RSS, gzip=True)
    got = make_fetcher([url], clock=MutableClock()).fetch()
    assert len(got) == 3
    assert "gzip" in feed_server.hits("/gz.xml")[0].headers["accept-encoding"]


def test_markup_and_entities_in_titles_become_plain_text(feed_server):
    items = [
        Item(title="", raw_title="&lt;b&gt;Apple&lt;/b&gt; &amp;amp; Google   soar\n  again", guid="m1"),
        Item(title="", raw_title="<![CDATA[<i>Fed</i> holds &amp; waits]]>", guid="m2"),
        Item(title="", raw_title="Profits up 5&#37; &#8211; margin &lt; 10%", guid="m3"),
        Item(title="Bank results", guid="m4", description="<p>Strong <a href='x'>quarter</a>.</p><br/>More"),
    ]
    url = feed_server.route("/markup.xml", rss_document(items), headers=RSS)
    got = make_fetcher([url], clock=MutableClock()).fetch()
    assert [h.title for h in got] == [
        "Apple & Google soar again",
        "Fed holds & waits",
        "Profits up 5% \u2013 margin < 10%",
        "Bank results",
    ]
    assert got[3].summary == "Strong quarter . More"


@pytest.mark.parametrize(
    "encoding, content_type",
    [("iso-8859-1", "application/rss+xml; charset=ISO-8859-1"), ("windows-1252", "text/xml")],
    ids=["latin1-header-and-prolog", "cp1252-prolog-only"],
)
def test_non_utf8_feeds_decode_correctly(feed_server, encoding, content_type):
    titles = ["Société Générale profits jump", "Nestlé and Müller agree deal", "Zürich: €2bn bond sale"]
    date = "Mon, 01 Jan 2024 10:00:00 GMT"
    items = [Item(title=t, guid=f"e{i}", pub_date=date) for i, t in enumerate(titles)]
    body = rss_document(items, encoding=encoding)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # really not UTF-8
    url = feed_server.route("/enc.xml", body, headers={"Content-Type": content_type})
    got = make_fetcher([url], clock=MutableClock()).fetch()
    # ISO-8859-1 has no euro sign: the builder writes it as a character reference, still decoded
    assert [h.title for h in got] == titles


def test_real_non_ascii_titles_in_latin1(feed_server, bbc):
    from fakes.feed_docs import bbc_items

    items = [i for i in bbc_items(bbc, 400) if any(ord(ch) > 127 for ch in i.title)][:5]
    assert items, "the BBC sample has titles with £ and curly quotes"
    url = feed_server.route(
        "/l1.xml",
        rss_document(items, encoding="iso-8859-1"),
        headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"},
    )
    got = make_fetcher([url], clock=MutableClock()).fetch()
    assert [h.title for h in got] == [i.title for i in expected_unique(items)]


def test_missing_unparseable_and_future_dates_use_fetch_time(feed_server):
    items = [
        Item(title="No date at all", guid="d1"),
        Item(title="A mangled date", guid="d2", pub_date="the day after yesterday"),
        Item(title="From the future", guid="d3", pub_date="Fri, 01 Jan 2100 00:00:00 GMT"),
        Item(title="A proper date", guid="d4", pub_date="Mon, 07 Mar 2022 08:15:53 +0100"),
    ]
    for build, headers in ((rss_document, RSS), (atom_document, ATOM)):
        path = f"/dates-{build.__name__}.xml"
        url = feed_server.route(path, build(items), headers=headers)
        got = make_fetcher([url], clock=MutableClock()).fetch()
        assert [(h.published_at, h.published_estimated) for h in got] == [
            (FIXED_NOW, True),
            (FIXED_NOW, True),
            (FIXED_NOW, True),
            (parsedate_to_datetime("Mon, 07 Mar 2022 07:15:53 GMT"), False),
        ], build.__name__


def test_duplicates_within_a_feed_and_the_same_story_in_two_feeds(feed_server):
    first = [
        Item(title="Oil price soars to a record", guid="a1", link="https://example.com/a/1"),
        Item(title="Oil price soars to a record", guid="a1", link="https://example.com/a/1"),  # repeated item
        Item(title="OIL PRICE SOARS TO A RECORD!", guid="a2"),  # same story, new guid
        Item(title="Banks rally", guid="a3"),
    ]
    second = [
        Item(title="Oil price soars to a record", guid="b1", link="https://example.com/b/x"),
        Item(title="Retail sales fall", guid="b2"),
    ]
    url_a = feed_server.route("/a.xml", rss_document(first), headers=RSS)
    url_b = feed_server.route("/b.xml", rss_document(second), headers=RSS)
    got = make_fetcher([url_a, url_b], clock=MutableClock()).fetch()
    assert [(h.title, h.source) for h in got] == [
        ("Oil price soars to a record", f"rss:{url_a}"),  # first seen wins
        ("Banks rally", f"rss:{url_a}"),
        ("Retail sales fall", f"rss:{url_b}"),
    ]


def test_per_symbol_feeds_tag_their_symbol_and_merge_a_shared_story(feed_server):
    shared = Item(title="Big tech earnings week ahead", guid="shared")
    iphone = Item(title="iPhone sales jump", guid="p1")
    feed_server.route("/sym?s=AAPL", rss_document([shared, iphone]), headers=RSS)
    feed_server.route(
        "/sym?s=MSFT", rss_document([Item(title="Big tech earnings week ahead", guid="other")]), headers=RSS
    )
    feeds = expand_feeds([], [feed_server.url("/sym?s={symbol}")], ["AAPL", "MSFT"])
    assert feeds == [Feed(feed_server.url(f"/sym?s={s}"), s) for s in ("AAPL", "MSFT")]
    got = make_fetcher(feeds, clock=MutableClock(), symbols=["AAPL", "MSFT"]).fetch()
    assert [(h.title, h.symbols) for h in got] == [
        ("Big tech earnings week ahead", ("AAPL", "MSFT")),
        ("iPhone sales jump", ("AAPL",)),
    ]


def test_a_second_fetch_returns_only_new_items(feed_server):
    url = feed_server.route("/n.xml", rss_document(SMALL_ITEMS[:2]), headers=RSS)
    fetcher = make_fetcher([url], clock=MutableClock())
    assert len(fetcher.fetch()) == 2
    assert fetcher.fetch() == []
    feed_server.route("/n.xml", rss_document(SMALL_ITEMS), headers=RSS)
    assert [h.guid for h in fetcher.fetch()] == ["small-3"]


def test_conditional_requests_get_304_and_nothing_new(feed_server):
    etag_url = feed_server.route("/etag.xml", rss_document(SMALL_ITEMS), headers=RSS, etag='"v1"')
    lm = "Wed, 03 Jan 2024 10:00:00 GMT"
    lm_url = feed_server.route("/lm.xml", rss_document(SMALL_ITEMS[:1]), headers=RSS, last_modified=lm)
    fetcher = make_fetcher([etag_url, lm_url], clock=MutableClock())
    assert len(fetcher.fetch()) == 3
    assert fetcher.fetch() == []
    assert fetcher.last_report.attempted == 2 and fetcher.last_report.failed == 0
    first, second = feed_server.hits("/etag.xml")
    assert "if-none-match" not in first.headers and second.headers["if-none-match"] == '"v1"'
    assert feed_server.hits("/lm.xml")[1].headers["if-modified-since"] == lm


def test_gzip_refused_by_size_cap_counted_on_decoded_bytes(feed_server):
    body = rss_document([Item(title=f"Filler story {i}", guid=f"f{i}") for i in range(60_000)])
    assert len(body) > 3_000_000 and len(gzip.compress(body)) < 1_000_000
    plain = feed_server.route("/big.xml", body, headers=RSS)
    zipped = feed_server.route("/big.gz.xml", body, headers=RSS, gzip=True)
    good = feed_server.route("/ok.xml", rss_document(SMALL_ITEMS), headers=RSS)
    with capture_logs() as logs:
        got = make_fetcher([plain, zipped, good], clock=MutableClock(), max_bytes=1_000_000).fetch()
    assert len(got) == 3  # the good feed still counts
    reasons = {e["url"]: e["reason"] for e in logs if e["event"] == "feed_failed"}
    assert reasons[plain].startswith("feed larger than 1000000 bytes")
    assert reasons[zipped] == "feed larger than 1000000 bytes"


def test_scripts_controls_and_bidi_overrides_never_reach_a_title(feed_server):
    items = [
        Item(title="", raw_title="&lt;script&gt;alert(1)&lt;/script&gt;Acme beats", guid="x1"),
        Item(
            title="", raw_title="&amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt;Hooli misses", guid="x2"
        ),
        Item(title="Globex \x1b[31mrecalls\x07 cars", guid="x3"),
        Item(title="Initech \u202eslaes\u202c up", guid="x4"),
        # the XML layer undoes one escaping, the title's HTML one more: "&amp;" is what it says
        Item(title="", raw_title="Umbrella writes &amp;amp;amp; in its filing", guid="x5"),
    ]
    url = feed_server.route("/hostile.xml", rss_document(items), headers=RSS)
    got = make_fetcher([url], clock=MutableClock()).fetch()
    assert [h.title for h in got] == [
        "Acme beats",
        "Hooli misses",
        "Globex [31mrecalls cars",
        "Initech slaes up",
        "Umbrella writes &amp; in its filing",
    ]
    assert not any("alert" in h.title for h in got)


def test_a_huge_title_is_cut_and_a_huge_feed_is_capped(feed_server):
    long_title = "Acme " + " ".join(f"word{k}" for k in range(1000))  # ~7,000 characters
    items = [Item(title=long_title, guid="long")] + [
        Item(title=f"Story {k} moves markets", guid=f"s{k}") for k in range(519)
    ]
    url = feed_server.route("/huge.xml", rss_document(items), headers=RSS)
    with capture_logs() as logs:
        got = make_fetcher([url], clock=MutableClock()).fetch()
    assert len(got) == 500  # news.max_items: the first 500 of 520
    assert len(got[0].title) <= 300 and got[0].title.startswith("Acme word0") and got[0].title.endswith("…")
    capped = [e for e in logs if e["event"] == "feed_items_capped"]
    assert capped and capped[0]["items"] == 520 and capped[0]["kept"] == 500
