"""Plain text from feed fields: markup removed, entities decoded, control characters and bidi
overrides dropped, whitespace collapsed."""

from __future__ import annotations

import html
import re

# Tags and comments only: a bare "<" in text ("margin < 5%") must survive.
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>|</?[A-Za-z][^<>]*>", re.DOTALL)
# Elements whose content is code, not text: dropped whole (an escaped "<script>" must not leave
# "alert(1)" behind to be scored as a headline).
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.DOTALL | re.IGNORECASE)
# C0 and C1 controls (ESC, BEL, ... reach a terminal), and the bidi embeddings, overrides and
# isolates (U+202E flips how a title reads); tabs and newlines become spaces below.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")


def _strip_markup(text: str) -> str:
    return _MARKUP.sub(" ", _CODE.sub(" ", text))


def clean_text(value: object) -> str:
    """Feed text as a reader would see it.

    Entities are decoded exactly once (the XML parser has already undone the document's own
    escaping), then markup is removed: feeds escape their HTML ("&lt;b&gt;" arrives as "<b>"), and
    a title that really says "&amp;" keeps it. Script and style elements go with their content.
    """
    if not isinstance(value, str) or not value:
        return ""
    text = _strip_markup(html.unescape(value))
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
