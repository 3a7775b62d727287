"""The dashboard's token: what a state-changing request (kill, resume) must carry.

Generated with ``secrets`` on the first start, stored beside the journal it guards
(``<journal>.dashboard-token``, mode 0600, created with that mode so it is never readable by
others even for an instant) and printed once, by the process that created it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.errors import ConfigError

#: bytes of randomness (43 URL-safe characters)
TOKEN_BYTES = 32


def token_path(journal: Path) -> Path:
    """Where the token of ``journal``'s dashboard lives: beside it."""
    return journal.with_name(journal.name + ".dashboard-token")


def read_token(path: Path) -> str | None:
    """The stored token; None when there is no token file yet. An empty or unreadable file is
    a config error (exit 2) naming it: better than a dashboard anyone could drive."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"dashboard token: cannot read {path} ({exc}); move it aside to make a new one")
    if len(text) < 16:
        raise ConfigError(f"dashboard token: {path} holds no usable token; move it aside to make a new one")
    return text


def load_or_create(path: Path) -> tuple[str, bool]:
    """(the token, whether it was created now). A new token is written with mode 0600; when two
    processes race, the one whose exclusive create loses reads the winner's."""
    found = read_token(path)
    if found is not None:
        return found, False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(path) or token, False
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(token + "\n")
    return token, True


def matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is the token (compared in constant time)."""
    return bool(given) and secrets.compare_digest(given.encode(), token.encode())
