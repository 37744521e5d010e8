"""SSRF guard: a destination may only reach public addresses, unless an operator allow-lists a
network. Checked when a destination is saved and again at send time, after resolving DNS anew,
and the request then goes to the address that was checked (no second lookup to rebind)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(ValueError):
    """The URL is malformed or would reach an address we refuse."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        # True when asking again later may succeed (the name did not resolve just now).
        self.transient = transient


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (for Host and TLS SNI)
    port: int
    address: IPAddress  # the checked address to connect to

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@cache
def _allowed_networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in spec)


def allowed_networks():
    return _allowed_networks(tuple(settings.DELIVERY_ALLOWED_NETWORKS))


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at.
_IPV4_TRANSLATED = (
    ipaddress.ip_network("::ffff:0:0:0/96"),  # SIIT, RFC 2765
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 well-known prefix, RFC 6052
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 local use, RFC 8215
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d, deprecated but still routed


def embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 address(es) an IPv6 address really reaches: mapped, compatible, translated
    (NAT64), 6to4 and Teredo (server and client) forms. Empty for a plain IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    if address.ipv4_mapped:
        return (address.ipv4_mapped,)
    if address.sixtofour:
        return (address.sixtofour,)
    if address.teredo:
        return address.teredo
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _IPV4_TRANSLATED):
        return (low32,)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1 (judged as IPv6)
        return (low32,)
    return ()


def _allowed(address: IPAddress) -> bool:
    return any(address in network for network in allowed_networks())


def is_forbidden(address: IPAddress) -> bool:
    """Loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved: not global.
    An IPv6 form that embeds an IPv4 address is judged by that address."""
    if _allowed(address):
        return False
    return any(
        not _allowed(reached) and (not reached.is_global or reached.is_multicast)
        for reached in embedded_ipv4(address) or (address,)
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"cannot resolve {host!r}: {exc}", transient=True) from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


@lru_cache(maxsize=4096)
def is_address_literal(url: str) -> bool:
    """True when the URL names an IP address, so checking it needs no DNS lookup."""
    try:
        ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _check_address_url(url: str, allowed: tuple[str, ...]) -> Target:
    return check_url(url)


def check_address_url(url: str) -> Target:
    """check_url for a URL naming an IP address, remembered: without DNS the answer only
    changes with the allow-list, which is part of the key. Refusals are not remembered."""
    return _check_address_url(url, tuple(settings.DELIVERY_ALLOWED_NETWORKS))


def check_url(url: str) -> Target:
    """Parse, resolve and vet a destination URL; the returned Target pins the checked address."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeDestination(f"invalid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeDestination("put credentials in the auth settings, not in the URL")
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        address=check_host(parts.hostname, port),
    )


def check_host(host: str, port: int) -> IPAddress:
    """Resolve and vet a host (for protocols other than HTTP: SMTP); the address to connect to."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = _resolve(host, port)
    if not addresses:
        raise UnsafeDestination(f"{host!r} resolves to no address")
    refused = [a for a in addresses if is_forbidden(a)]
    if refused:
        # One private answer is enough to refuse: a resolver may hand out either.
        raise UnsafeDestination(
            f"{host} resolves to {refused[0]}, a private or reserved address; "
            "ask an operator to allow-list it (DELIVERY_ALLOWED_NETWORKS)"
        )
    return addresses[0]
