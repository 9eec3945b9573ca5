"""Refuse outbound requests to addresses a remote server should never make us reach (SSRF).

A remote actor chooses the URLs we fetch (its inbox, its key id, the objects it mentions), so
every URL is checked here before a request is sent and again on every redirect hop.

Residual risk, DNS rebinding: we resolve the host and vet the addresses, then httpx resolves it
again when it connects. A hostile DNS server answering with TTL 0 can give us a public address
for the check and a private one for the connection. The client narrows this by checking the
peer address of the connection it actually used (``check_peer_address``) before reading the
response body, so the answer of an internal service is never read; the request itself has been
sent by then. Closing the window entirely needs the connection to go to the very address we
vetted: a custom httpcore network backend that connects to the checked IP while keeping the
hostname for Host and TLS SNI, or an egress proxy (or firewall rules) that enforces the same
policy below the application.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import httpx

__all__ = [
    "BlockedAddressError",
    "FetchError",
    "ResolutionCache",
    "Resolver",
    "check_address",
    "check_peer_address",
    "check_url",
    "parse_url",
    "resolve_with_getaddrinfo",
    "url_authority",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# 100.64.0.0/10 (RFC 6598) is neither "private" nor "global" to the ipaddress module, and
# 64:ff9b::/96 (RFC 6052 NAT64) embeds an IPv4 address that a NAT64 gateway will reach.
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """Report an outbound request that failed, with a message safe to show and log.

    It lives here, not in ``client``, so that the guard needs no upward import; ``client``
    re-exports it together with its more specific subclasses.
    """

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class BlockedAddressError(FetchError):
    """Refuse a URL whose scheme, userinfo or address we will not connect to."""


class ResolutionCache:
    """Remember vetted DNS answers briefly: delivery hits the same hosts over and over."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, int], float] = OrderedDict()

    def is_fresh(self, host: str, port: int) -> bool:
        """Return whether ``host:port`` was vetted less than ``ttl_seconds`` ago."""
        key = (host, port)
        expires = self._entries.get(key)
        if expires is None:
            return False
        if expires <= self._clock():
            del self._entries[key]
            return False
        self._entries.move_to_end(key)
        return True

    def remember(self, host: str, port: int) -> None:
        """Record that every address of ``host:port`` passed the check just now."""
        key = (host, port)
        self._entries[key] = self._clock() + self._ttl
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


async def resolve_with_getaddrinfo(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's resolver; raise ``OSError`` when it fails."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 transition address would route to, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _address_problem(address: IPAddress) -> str | None:
    """Name the reason ``address`` is off limits, or return None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = _address_problem(embedded)
            return f"an IPv6 form of {embedded} ({inner})" if inner else None
        if address.is_site_local:
            return "site-local"
    elif address in _CGNAT:
        return "carrier-grade NAT (100.64.0.0/10)"
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, flag):
            return name
    # Catch-all for special-purpose ranges the flags above do not name (benchmarking,
    # documentation, IETF protocol assignments): only globally routable addresses pass.
    if not address.is_global:
        return "not globally routable"
    return None


def _parse_address(text: str) -> IPAddress | None:
    """Parse an IP literal, including the legacy IPv4 spellings that resolvers accept."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    # "2130706433", "0x7f.1" and "127.1" all mean 127.0.0.1 to inet_aton and getaddrinfo.
    if text and all(c in "0123456789abcdefx." for c in text.lower()) and text[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def parse_url(url: str) -> httpx.URL:
    """Parse ``url`` as it will be sent (no fragment, no explicit default port) or refuse it.

    httpx parses here because httpx builds the request: the guard and the connection must
    never disagree about which host a tricky URL names.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BlockedAddressError(f"{url!r} is not a valid URL") from exc
    if parsed.port is not None and not 0 < parsed.port < 65536:  # httpx does not check
        raise BlockedAddressError(f"{url!r} has a port outside 1-65535")
    if parsed.port is not None and parsed.port == _DEFAULT_PORTS.get(parsed.scheme):
        parsed = parsed.copy_with(port=None)
    return parsed.copy_with(fragment=None) if parsed.fragment else parsed


def url_authority(url: httpx.URL) -> str:
    """Return ``host`` or ``host:port`` (non-default port only), lower-cased, IPv6 bracketed."""
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = url.port
    return host if port is None or port == _DEFAULT_PORTS.get(url.scheme) else f"{host}:{port}"


def check_address(address: str) -> None:
    """Raise ``BlockedAddressError`` unless ``address`` is a public unicast IP address."""
    parsed = _parse_address(address)
    if parsed is None:
        raise BlockedAddressError(f"{address!r} is not an IP address")
    problem = _address_problem(parsed)
    if problem is not None:
        raise BlockedAddressError(f"address {parsed} is {problem}")


def check_peer_address(response: httpx.Response, *, allow_private: bool) -> None:
    """Refuse the address a connection actually reached (see the DNS rebinding note)."""
    stream = response.extensions.get("network_stream")
    if allow_private or stream is None:
        return  # mock and ASGI transports have no socket to inspect
    peer = stream.get_extra_info("server_addr")
    if peer:
        check_address(str(peer[0]))


async def check_url(
    url: str,
    *,
    allow_private: bool,
    resolve: Resolver | None = None,
    cache: ResolutionCache | None = None,
) -> None:
    """Raise ``BlockedAddressError`` unless ``url`` is safe to request.

    The scheme must be http or https and the URL must carry no userinfo. Unless
    ``allow_private`` is set (local federation tests; it also skips DNS, since test hosts
    such as ``b.test`` do not exist), the host must be, or resolve only to, public
    addresses. Resolution failures propagate as ``OSError``: they are connection
    problems, not policy refusals.
    """
    parsed = parse_url(url)
    scheme = parsed.scheme
    if scheme not in _ALLOWED_SCHEMES:
        raise BlockedAddressError(f"{url!r}: scheme {scheme or '(none)'!r} is not allowed")
    if parsed.userinfo:
        raise BlockedAddressError(f"{url!r}: URLs with credentials are not allowed")
    host = parsed.raw_host.decode("ascii").rstrip(".")
    if not host:
        raise BlockedAddressError(f"{url!r} has no host")
    if allow_private:
        return
    literal = _parse_address(host)
    if literal is not None:
        problem = _address_problem(literal)
        if problem is not None:
            raise BlockedAddressError(f"{url!r}: address {literal} is {problem}")
        return
    port = parsed.port or _DEFAULT_PORTS[scheme]
    if cache is not None and cache.is_fresh(host, port):
        return
    addresses = await (resolve or resolve_with_getaddrinfo)(host, port)
    if not addresses:
        raise BlockedAddressError(f"{url!r}: {host} resolves to no address")
    # Every answer must pass: whoever controls the zone chooses which one we connect to.
    for address in addresses:
        resolved = _parse_address(address)
        problem = "unparseable" if resolved is None else _address_problem(resolved)
        if problem is not None:
            raise BlockedAddressError(f"{url!r}: {host} resolves to {address}, which is {problem}")
    if cache is not None:
        cache.remember(host, port)
