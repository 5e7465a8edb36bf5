"""Which Host names this server answers to, and which browser origins may act on it.

DNS rebinding: a page on evil.example makes its own name resolve to this server's address, so
the browser treats the server as evil.example and lets the page read it. The browser still
sends `Host: evil.example`, so answering only to names the attacker cannot own stops it.

- Bound to loopback (the default): localhost, 127.0.0.1 and [::1] only.
- Bound to anything else (0.0.0.0 in Docker, or a LAN address): also every IP literal, names
  without a dot, names under the local-only suffixes (.local, .localhost, .internal, .home.arpa)
  and this machine's own names. Nobody outside can register any of these in public DNS, and
  someone on the LAN who answers for them could reach the server directly anyway.
- Always: the host of UNROLL_PUBLIC_URL and the names in UNROLL_ALLOWED_HOSTS ("*": any, for a
  reverse proxy that checks Host itself).

An origin may act (open a websocket, create a room) when it is listed in UNROLL_ALLOWED_ORIGINS,
or when it is this server's own origin under an allowed name: the same scheme-less host and port
as the request's Host, which must itself be allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from app.web.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".home.arpa")


def hostname(host: str) -> str:
    """The name in a Host header (or an origin's netloc): no port, no brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else ""
    if host.count(":") > 1:  # a bare IPv6 address (a bind address, never a Host header)
        return host
    name, colon, port = host.partition(":")
    return name if not colon or port.isdigit() else ""


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def is_loopback(bind: str) -> bool:
    """Whether the server listens on loopback only."""
    address = _ip(hostname(bind)) if bind != "localhost" else ipaddress.ip_address("127.0.0.1")
    return address is not None and address.is_loopback


def machine_names() -> set[str]:
    """This machine's own host names."""
    names = {socket.gethostname(), socket.getfqdn()}
    return {name.lower() for name in names if name}


class HostPolicy:
    """The Host allowlist and the origin check, from the settings."""

    def __init__(self, settings: Settings) -> None:
        extra = {hostname(h) for h in settings.allowed_hosts.split(",") if h.strip()}
        self.any = "*" in extra
        self.lan = not is_loopback(settings.host)
        self.names = set(LOOPBACK_NAMES) | (extra - {"*"})
        if settings.public_url:
            self.names.add(hostname(urlsplit(settings.public_url).netloc))
        if self.lan:
            self.names |= machine_names() | {hostname(settings.host)}
        self.origins = {origin.lower() for origin in settings.origin_list()}

    def allows(self, host: str) -> bool:
        """Whether a request with this Host header may be answered."""
        if self.any:
            return True
        name = hostname(host)
        if not name:
            return False
        if name in self.names:
            return True
        if not self.lan:
            return False
        return _ip(name) is not None or "." not in name or name.endswith(LOCAL_SUFFIXES)

    def origin_allowed(self, origin: str, host: str) -> bool:
        """Whether a page from `origin`, calling this server at `host`, may act on it."""
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.path or not parts.netloc:
            return False
        return parts.netloc == host.strip().lower() and self.allows(parts.netloc)

    def from_own_page(self, origin: str | None, fetch_site: str | None, host: str) -> bool:
        """Whether a request was made by one of this server's pages (a browser says where from)."""
        if origin is None:  # browsers send Origin with every POST; Sec-Fetch-Site where sent
            return fetch_site == "same-origin"
        return self.origin_allowed(origin, host)
