"""RSS 2.0 and Atom documents built at test time (standard library only, XML-escaped).

The realistic material comes from ``../shared/data/news/bbc_business_rss_items.csv`` (real items
of a business-news feed) through ``bbc_items``; nothing from it is copied into the repository.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    title: str  # as it should read after parsing; put markup in ``raw_title`` to test cleaning
    link: str = ""
    guid: str = ""
    pub_date: str | None = None  # RFC 822 as in RSS, e.g. "Mon, 07 Mar 2022 00:14:42 GMT"
    description: str = ""
    raw_title: str | None = None  # inserted *unescaped* into the document (markup, entities)


def bbc_items(path: Path, count: int, offset: int = 0) -> list[Item]:
    """``count`` real items from the BBC business CSV, starting at row ``offset``."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[offset : offset + count]
    return [
        Item(
            title=r["title"],
            link=r["link"],
            guid=r["guid"],
            pub_date=r["pubDate"] or None,
            description=r["description"],
        )
        for r in rows
    ]


def _title_xml(item: Item) -> str:
    return item.raw_title if item.raw_title is not None else escape(item.title)


def rss_document(items: Sequence[Item], *, encoding: str = "utf-8", title: str = "Test feed") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link><description>test</description>",
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{_title_xml(item)}</title>")
        if item.link:
            parts.append(f"<link>{escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
        if item.pub_date is not None:
            parts.append(f"<pubDate>{escape(item.pub_date)}</pubDate>")
        if item.description:
            parts.append(f"<description>{escape(item.description)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding, errors="xmlcharrefreplace")


def atom_document(items: Sequence[Item], *, encoding: str = "utf-8", title: str = "Test feed") -> bytes:
    """Atom 1.0; RSS dates are rewritten as RFC 3339 (an unparseable one is kept verbatim)."""
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2024-01-01T00:00:00Z</updated>",
    ]
    for item in items:
        parts.append("<entry>")
        parts.append(f'<title type="html">{_title_xml(item)}</title>')
        parts.append(f"<id>{escape(item.guid or item.link or 'urn:test:' + item.title)}</id>")
        if item.link:
            parts.append(f'<link rel="alternate" href="{escape(item.link, {chr(34): "&quot;"})}"/>')
        if item.pub_date is not None:
            parts.append(f"<published>{escape(_rfc3339(item.pub_date))}</published>")
        if item.description:
            parts.append(f"<summary>{escape(item.description)}</summary>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode(encoding, errors="xmlcharrefreplace")


def _rfc3339(rfc822: str) -> str:
    try:
        return parsedate_to_datetime(rfc822).isoformat()
    except (TypeError, ValueError):
        return rfc822
