"""``python -m bot news`` as a real subprocess against the local feed server and Alpaca fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fakes.alpaca_news_server import news_item
from fakes.feed_docs import atom_document, bbc_items, rss_document
from newskit import SMALL_ITEMS, expected_unique
from testkit import NO_KEYS, query, run_cli, write_config

RSS = {"Content-Type": "application/rss+xml"}
JSON_KEYS = {
    "published_at",
    "published_estimated",
    "source",
    "symbols",
    "title",
    "link",
    "score",
    "label",
    "scorer_version",
}


def news_config(tmp_path, feeds=(), symbol_feeds=(), symbols=("AAPL", "MSFT"), extra=""):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_config(
        tmp_path,
        f"""
[data]
symbols = {json.dumps(list(symbols))}
[news]
feeds = {json.dumps(list(feeds))}
symbol_feeds = {json.dumps(list(symbol_feeds))}
aliases = {{ AAPL = ["Apple"], MSFT = ["Microsoft"] }}
timeout_seconds = 0.5
{extra}
""",
    )


def news(config, *flags: str, env=NO_KEYS):
    """``python -m bot news FLAGS --config CONFIG`` in a subprocess."""
    return run_cli("news", *flags, "--config", str(config), env=env, timeout=60)


def journal_rows(tmp_path):
    sql = "SELECT source, guid, title, score, scorer_version FROM headlines ORDER BY id"
    return [tuple(row) for row in query(tmp_path / "journal.sqlite", sql)]


def lines_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_news_once_json_prints_new_headlines_and_stores_them(feed_server, tmp_path):
    general = feed_server.route("/general.xml", rss_document(SMALL_ITEMS), headers=RSS)
    feed_server.route("/sym/AAPL.xml", rss_document([SMALL_ITEMS[0]]), headers=RSS)  # a story seen twice
    feed_server.route("/sym/MSFT.xml", "boom", status=500)  # one broken feed does not fail the run
    config = news_config(tmp_path, [general], [feed_server.url("/sym/{symbol}.xml")])

    first = news(config, "--once", "--json")
    assert first.returncode == 0, first.stderr
    printed = lines_of(first.stdout)
    assert [p["title"] for p in printed] == [i.title for i in SMALL_ITEMS]
    assert all(set(p) == JSON_KEYS for p in printed)
    apple = printed[0]
    assert apple["symbols"] == ["AAPL"] and apple["source"] == f"rss:{general}"
    assert apple["published_at"] == "2024-01-02T14:30:00+00:00" and apple["published_estimated"] is False
    assert isinstance(apple["score"], float) and apple["label"] in {"positive", "neutral", "negative"}
    assert apple["scorer_version"] and apple["link"] == SMALL_ITEMS[0].link
    assert "feed_failed" in first.stderr and "HTTP 500" in first.stderr
    stored = journal_rows(tmp_path)
    assert len(stored) == 3 and all(r[4] == apple["scorer_version"] for r in stored)

    second = news(config, "--once", "--json")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == ""
    assert len(journal_rows(tmp_path)) == 3


def test_news_from_real_bbc_items_in_two_formats(feed_server, tmp_path, bbc):
    rows = bbc_items(bbc, 30)
    rss = feed_server.route("/bbc.rss", rss_document(rows[:20]), headers=RSS)
    atom = feed_server.route(
        "/bbc.atom", atom_document(rows[10:]), headers={"Content-Type": "application/atom+xml"}
    )
    result = news(news_config(tmp_path, [rss, atom]), "--json")
    assert result.returncode == 0, result.stderr
    printed = lines_of(result.stdout)
    titles = [p["title"] for p in printed]
    # first sighting per guid and per title wins (the real capture re-titles and repeats stories)
    assert sorted(titles) == sorted(i.title for i in expected_unique(rows[:20], rows[10:]))
    times = [p["published_at"] for p in printed]
    assert times == sorted(times)  # printed oldest first
    assert {p["source"] for p in printed} == {f"rss:{rss}", f"rss:{atom}"}
    assert len(journal_rows(tmp_path)) == len(printed)


def test_plain_output_and_no_feeds_and_all_failed(feed_server, tmp_path):
    feed = feed_server.route("/small.xml", rss_document(SMALL_ITEMS[:1]), headers=RSS)
    ok = news(news_config(tmp_path / "a", [feed]))
    assert ok.returncode == 0, ok.stderr
    assert "AAPL" in ok.stdout and "Apple shares rise after record quarter" in ok.stdout
    assert ok.stdout.startswith("2024-01-02 14:30Z")

    none = news(news_config(tmp_path / "b"))
    assert none.returncode == 0 and "no news feeds configured" in none.stderr and none.stdout == ""

    dead = [feed_server.url("/missing.xml"), feed_server.route("/slow.xml", hang=True)]
    failed = news(news_config(tmp_path / "c", dead), "--json")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "HTTP 404" in failed.stderr and "timeout" in failed.stderr


def test_alpaca_news_needs_keys_and_never_logs_them(alpaca_server, feed_server, tmp_path):
    extra = f'alpaca = true\n[alpaca]\ndata_url = "{alpaca_server.url}"\ntimeout_seconds = 0.5\n'
    missing = news(news_config(tmp_path / "a", extra=extra))
    assert missing.returncode == 2 and "ALPACA_API_KEY" in missing.stderr

    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    alpaca_server.news = [news_item(7, "Microsoft unveils new chips", hour_ago, symbols=["MSFT"])]
    keys = {
        **NO_KEYS,
        "APCA_API_KEY_ID": alpaca_server.key_id,
        "APCA_API_SECRET_KEY": alpaca_server.secret_key,
    }
    feed = feed_server.route("/small.xml", rss_document(SMALL_ITEMS[:1]), headers=RSS)
    config = news_config(tmp_path / "b", [feed], extra=extra)
    result = news(config, "--json", env=keys)
    assert result.returncode == 0, result.stderr
    printed = lines_of(result.stdout)
    assert [(p["source"], p["symbols"]) for p in printed] == [(f"rss:{feed}", ["AAPL"]), ("alpaca", ["MSFT"])]

    wrong = {**keys, "APCA_API_SECRET_KEY": "wrong-secret-value-123"}
    rejected = news(config, "--json", env=wrong)
    assert rejected.returncode == 0 and "HTTP 401" in rejected.stderr  # the RSS feed still answered
    logs = "".join(p.read_text() for p in (tmp_path / "b" / "logs").iterdir())
    for secret in (alpaca_server.key_id, alpaca_server.secret_key, "wrong-secret-value-123"):
        for text in (logs, result.stdout, result.stderr, rejected.stdout, rejected.stderr):
            assert secret not in text
