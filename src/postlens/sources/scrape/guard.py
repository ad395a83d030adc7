"""Which addresses a scraper may connect to, checked after DNS resolution (server-side request forgery guard).

A page URL, a redirect ``Location`` and a robots.txt redirect all come from the network: each host
is resolved here, EVERY address it resolves to is checked, and the request then goes to the address
that was checked (``Target.address``), with the original name in the ``Host`` header and as the TLS
server name, so a second DNS answer (rebinding) cannot send it elsewhere.

Refused unless explicitly allowed: loopback, private (RFC 1918, ULA), link-local (which holds the
cloud metadata address 169.254.169.254 and fd00:ec2::254), CGNAT 100.64/10, multicast, unspecified,
reserved, IPv4-mapped/compatible IPv6 (``::ffff:127.0.0.1``), NAT64 and 6to4/Teredo forms, and
anything else Python does not call global. ``allow_private`` is for tests and self-hosted sites
only: ``True`` allows any address, a set of address strings allows exactly those.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import SplitResult, urlunsplit

Resolver = Callable[[str], list[str]]
AllowPrivate = bool | Collection[str]

METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")


class Refused(Exception):
    """A URL not fetched, on purpose; ``code`` is the quarantine code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    address: str


def system_resolver(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def why_not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """None for an address a public web page may live on; otherwise what it is."""
    if ip in METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip in _NAT64 or ip in _6TO4 or ip in _TEREDO:
            return "an IPv6 address wrapping an IPv4 one (NAT64, 6to4 or Teredo)"
        if ip.packed[:12] == bytes(12) and not ip.is_unspecified and not ip.is_loopback:
            return "an IPv4-compatible IPv6 address"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("carrier-grade NAT", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None if ip.is_global else "not a global address"


def check_host(host: str, *, resolver: Resolver = system_resolver, allow_private: AllowPrivate = False) -> Target:
    """Resolve ``host`` and return the address to connect to; ``Refused`` when any address is not public."""
    name = host.strip("[]")
    try:
        if not _is_ip(name):
            name = name.encode("idna").decode("ascii")  # the name DNS knows (bücher.test -> xn--bcher-kva.test)
        addresses = [name] if _is_ip(name) else resolver(name)
    except (OSError, UnicodeError) as exc:
        raise Refused("scrape_unreachable", f"cannot resolve {host} ({exc})") from None
    if not addresses:
        raise Refused("scrape_unreachable", f"{host} resolves to no address")
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise Refused("scrape_private_host", f"{host} resolves to {text!r}, not an IP address") from None
        why = why_not_public(ip)
        if why is None or allow_private is True:
            continue
        if allow_private and str(ip) in allow_private:
            continue
        said = f"{host} is" if str(ip) == name else f"{host} resolves to {ip},"
        raise Refused(
            "scrape_private_host",
            f"{said} {why}: not fetched (a page must not make postlens reach into its own network)",
        )
    return Target(name, addresses[0].split("%", 1)[0])


def pinned_request(parts: SplitResult, target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL naming the checked address, headers, httpx extensions) for a GET of ``parts``: the connection
    goes to ``target.address`` while the Host header and the TLS server name (certificate check)
    keep the original name, so no second DNS answer is ever used."""
    host = parts.hostname or ""
    address = f"[{target.address}]" if ":" in target.address else target.address
    pinned = urlunsplit(
        (parts.scheme, address + (f":{parts.port}" if parts.port else ""), parts.path or "/", parts.query, "")
    )
    name = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    extensions = {"sni_hostname": name} if parts.scheme == "https" else {}
    return pinned, {"Host": name + (f":{parts.port}" if parts.port else "")}, extensions


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True
