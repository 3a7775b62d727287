"""Plain text from feed fields: markup removed, entities decoded, whitespace collapsed."""

from __future__ import annotations

import html
import re

# Tags and comments only: a bare "<" in text ("margin < 5%") must survive.
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>|</?[A-Za-z][^<>]*>", re.DOTALL)
_SPACE = re.compile(r"\s+")


def clean_text(value: object) -> str:
    """Feed text as a reader would see it.

    Entities are decoded before *and* after tag removal: feeds often escape their markup
    ("&lt;b&gt;"), and some escape it twice ("&amp;amp;").
    """
    if not isinstance(value, str) or not value:
        return ""
    text = html.unescape(value)
    text = _MARKUP.sub(" ", text)
    text = html.unescape(text) if "&" in text else text
    return _SPACE.sub(" ", text).strip()
