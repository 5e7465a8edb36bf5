"""Where students can reach this server: the join addresses of a room, and why there may be none.

A teacher on a laptop browses at http://localhost:8000, an address no phone can open. The server
then offers its own LAN addresses instead: the IPv4 addresses of its network interfaces (stdlib
only: per-interface ioctl on Linux, else the host name's addresses), the one that routes to the
outside first, with the interfaces of containers and VPN-less bridges (docker0, veth...) left
out. UNROLL_PUBLIC_URL always wins. When no address works (the server listens on loopback only,
it runs in a container whose addresses are private to the host, or it has no network), the room
says so in plain words (`join_hint`) and how to fix it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.web.hosts import hostname, is_loopback
from app.web.settings import Settings

CACHE_SECONDS = 10.0  # a laptop joins another network now and then: look again after this
SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
VIRTUAL_PREFIXES = ("lo", "docker", "br-", "veth", "virbr", "cni", "flannel", "kube", "podman")
PROBE_ADDRESS = ("192.0.2.1", 9)  # TEST-NET-1: a UDP connect routes, sends nothing
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")

LOOPBACK_ONLY_HINT = (
    "Phones cannot open this link: the server listens on this computer only (127.0.0.1). "
    "Restart it with ./scripts/run --host 0.0.0.0, or set UNROLL_PUBLIC_URL to an address "
    "students can reach (e.g. UNROLL_PUBLIC_URL=http://192.168.1.20:8000)."
)
CONTAINER_HINT = (
    "Phones cannot open this link: the server runs in a container and sees only the "
    "container's own addresses. Start it with the laptop's LAN address, e.g. docker run "
    "-p 8000:8000 -e UNROLL_PUBLIC_URL=http://<laptop-LAN-IP>:8000 ... (find the IP in your "
    "network settings)."
)
NO_ADDRESS_HINT = (
    "Phones cannot open this link, and this computer has no network address they could use. "
    "Connect it to the classroom's network, or set UNROLL_PUBLIC_URL "
    "(e.g. UNROLL_PUBLIC_URL=http://192.168.1.20:8000; in Docker: -e UNROLL_PUBLIC_URL=...)."
)


@dataclass(frozen=True)
class JoinBases:
    """Origins students may use, best first, and why none is any good (if so)."""

    bases: list[str]
    hint: str | None = None


def _usable(address: str) -> bool:
    """An IPv4 address another device on the network could reach."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def _interfaces() -> list[str]:
    """Linux: the IPv4 address of every physical or wireless interface (none elsewhere)."""
    found = []
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names:
            if name.startswith(VIRTUAL_PREFIXES):
                continue
            found += _interface_address(probe, name)
    return found


def _interface_address(probe: socket.socket, name: str) -> list[str]:
    try:
        import fcntl

        packed = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
    except (ImportError, OSError):  # not Linux, or the interface has no IPv4 address
        return []
    return [socket.inet_ntoa(packed[20:24])]


def _routed() -> list[str]:
    """The address the default route leaves from (a UDP connect sends no packet)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(PROBE_ADDRESS)
            return [probe.getsockname()[0]]
    except OSError:
        return []


def _named() -> list[str]:
    """The addresses this machine's host name resolves to (macOS, Windows)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def discover() -> list[str]:
    """Usable IPv4 addresses of this machine, the routed one first, then private ones."""
    routed = [a for a in _routed() if _usable(a)]
    others = _interfaces() or _named()
    ordered = routed + sorted(
        (a for a in others if _usable(a)),
        key=lambda a: (not ipaddress.IPv4Address(a).is_private, a),
    )
    return list(dict.fromkeys(ordered))


_cache: tuple[float, list[str]] | None = None


def lan_addresses() -> list[str]:
    """`discover()`, looked up again at most every CACHE_SECONDS."""
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > CACHE_SECONDS:
        _cache = (now, discover())
    return _cache[1]


def in_container() -> bool:
    """Whether the server runs in a (Docker or Podman) container."""
    return any(os.path.exists(marker) for marker in CONTAINER_MARKERS)


def origin_of(url: object) -> tuple[str, str, str]:
    """A request URL's scheme (http/https), host name and ':port' suffix (may be empty)."""
    parts = urlsplit(str(url))
    scheme = "https" if parts.scheme in ("https", "wss") else "http"
    port = f":{parts.port}" if parts.port else ""
    return scheme, hostname(parts.netloc), port


def join_bases(url: object, settings: Settings) -> JoinBases:
    """Where students reach this server, for a teacher who reached it at `url`."""
    if settings.public_url:
        return JoinBases([settings.public_url.rstrip("/")])
    scheme, host, port = origin_of(url)
    shown = f"[{host}]" if ":" in host else host
    own = f"{scheme}://{shown}{port}"
    if not (host == "localhost" or is_loopback(host)):
        return JoinBases([own])  # the teacher used a name or an address others can use too
    if is_loopback(settings.host):
        return JoinBases([own], LOOPBACK_ONLY_HINT)
    if in_container():
        return JoinBases([own], CONTAINER_HINT)
    addresses = lan_addresses()
    if not addresses:
        return JoinBases([own], NO_ADDRESS_HINT)
    return JoinBases([f"{scheme}://{address}{port}" for address in addresses])
