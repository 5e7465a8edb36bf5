"""Rate limits per client address: a token bucket for each, in bounded memory."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from app.web.settings import Settings

MAX_ADDRESSES = 10_000  # buckets kept at most; an idle (full) bucket is forgotten first


def address_key(address: str) -> str:
    """Whom a limit counts: an IPv4 address, or an IPv6 /64 (one host can hold a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class AddressLimiter:
    """`count` events per `window` seconds from each address, in bursts of up to `count`."""

    def __init__(
        self, count: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(count)
        self.rate = count / window  # tokens regained per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def _tokens(self, key: str) -> float:
        tokens, when = self._buckets.get(key, (self.capacity, self.clock()))
        return min(self.capacity, tokens + (self.clock() - when) * self.rate)

    def wait(self, address: str) -> float:
        """Seconds until the address may go on: 0 if it may now (nothing is taken)."""
        tokens = self._tokens(address_key(address))
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def take(self, address: str) -> None:
        """Count one event against the address."""
        key = address_key(address)
        tokens = self._tokens(key)
        self._buckets.pop(key, None)  # re-inserted last: the dict stays in order of use
        self._buckets[key] = (max(tokens - 1.0, 0.0), self.clock())
        if len(self._buckets) > MAX_ADDRESSES:
            self._forget()

    def _forget(self) -> None:
        """Drop full buckets (they mean nothing), then the least recently used, down to 90%.

        Making room for a tenth at once keeps a flood of new addresses from paying this scan
        on every event.
        """
        for key in [k for k in self._buckets if self._tokens(k) >= self.capacity]:
            del self._buckets[key]
        while len(self._buckets) > 0.9 * MAX_ADDRESSES:
            del self._buckets[next(iter(self._buckets))]


class RoomLimits:
    """Per client address: the rooms it starts, and its lookups of codes that do not exist.

    Only misses count, so a class behind one address (a school's NAT) joins freely, while
    guessing codes, which is nearly all misses, is slowed to a crawl.
    """

    def __init__(self, settings: Settings) -> None:
        self.creations = AddressLimiter(settings.room_creations_per_hour, 3600.0)
        self.misses = AddressLimiter(settings.room_misses_per_minute, 60.0)
