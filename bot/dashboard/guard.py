"""The dashboard's request checks: loopback Host names, same origin on POSTs, the token.

- Bound to loopback, a request must name a loopback host (``127.0.0.1``, ``localhost``,
  ``[::1]``): a page elsewhere cannot reach it by pointing its own DNS name at 127.0.0.1
  (DNS rebinding).
- A POST that carries ``Origin`` (every browser does on a POST) or else ``Referer`` must come
  from this very host and port; a client that sends neither (curl) still needs the token.
- The token comes in the ``X-Dashboard-Token`` header or the ``token`` form field; never from a
  cookie (a cookie alone would ride along with a forged cross-site request).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.dashboard.token import matches

TOKEN_HEADER = "X-Dashboard-Token"


def is_loopback(host: str) -> bool:
    """Whether a bind address or host name stays on this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a Host header (``127.0.0.1:8765`` -> ``127.0.0.1``, ``[::1]:80`` -> ``::1``)."""
    return urlsplit(f"//{host_header}").hostname or ""


def host_allowed(host_header: str | None, loopback_only: bool) -> bool:
    """Whether the Host header may reach this server (a loopback name when bound to loopback)."""
    if not loopback_only:
        return True
    return bool(host_header) and is_loopback(host_name(host_header))


def same_origin(origin: str | None, referer: str | None, host_header: str | None) -> bool:
    """Whether a POST comes from a page of this server: its Origin (else Referer) names the same
    host and port as the Host header. Neither header: not a browser's cross-site request."""
    claimed = origin if origin not in (None, "") else referer
    if claimed in (None, ""):
        return True
    if claimed == "null" or not host_header:  # an opaque origin (sandboxed frame, file://)
        return False
    parts = urlsplit(claimed)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def token_given(header: str | None, form: str | None, token: str) -> bool:
    """Whether the request carries the token in the header or the form field."""
    return matches(header, token) or matches(form, token)
