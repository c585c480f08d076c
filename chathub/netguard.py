"""Fetching a URL a customer chose, without letting the customer aim ChatHub at its own network.

A customer can put any address in a message (a simulator image's `media_url`). ChatHub fetches such a file
itself, so agents' browsers never contact the customer's address, and it fetches only from public addresses:
http(s) only, the host resolved first, refused if any of its addresses is loopback, private, link-local,
reserved or otherwise not global, and the connection made to the address that was checked (a second DNS
answer cannot swap it). Redirects are followed by hand and every hop is checked again.

An operator can allow more networks with CHATHUB_MEDIA_FETCH_ALLOW (say, an internal file server). Provider
media fetched from an admin's API base URL does not come through here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
AllowList = tuple[Network, ...]
MAX_REDIRECTS = 5
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class RefusedURL(Exception):
    """ChatHub will not fetch this URL; the message says why, for the agent."""


class TooLarge(Exception):
    """The file is larger than the caller's limit."""


class UnreachableURL(Exception):
    """The URL's host could not be resolved or reached now; trying later may help."""


@dataclass(frozen=True)
class Download:
    data: bytes
    content_type: str | None
    url: str  # the last hop, after redirects


@lru_cache(maxsize=16)  # read for every webhook (each driver's context); the setting rarely changes
def parse_allow_list(text: str) -> AllowList:
    """Comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8, ::1); ValueError names a bad entry."""
    networks = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def address_refusal(address: Address, allow: AllowList = ()) -> str | None:
    """What kind of address this is when ChatHub will not connect to it for a customer ("a loopback
    address"), or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allow):
        return None
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind.replace('_', '-')} address"
    return None if address.is_global else "not a public address"


def url_refusal(url: str, allow: AllowList = ()) -> str | None:
    """Why this URL is refused before any lookup (scheme, no host, a literal non-public address), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https addresses are fetched"
    if not parts.hostname:
        return "it names no host"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None  # a name: checked once resolved
    kind = address_refusal(address, allow)
    return f"{address} is {kind}" if kind else None


async def fetch_public(http: httpx.AsyncClient, url: str, *, allow: AllowList = (), max_bytes: int) -> Download:
    """GET a customer's URL under the rules above. RefusedURL: never fetched (or refused on the way);
    TooLarge: over `max_bytes`; UnreachableURL: DNS failed; httpx errors: the connection failed or the
    server answered an error status."""
    for _ in range(MAX_REDIRECTS + 1):
        parts, address = await _checked_target(url, allow)
        async with http.stream(
            "GET",
            _pinned_url(parts, address),
            headers={"Host": parts.netloc.rpartition("@")[2]},
            extensions={"sni_hostname": parts.hostname},
            follow_redirects=False,
        ) as response:
            if response.status_code in REDIRECT_CODES and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            response.raise_for_status()
            return Download(await read_capped(response, max_bytes), response.headers.get("content-type"), url)
    raise RefusedURL(f"it redirects more than {MAX_REDIRECTS} times")


async def _checked_target(url: str, allow: AllowList) -> tuple[SplitResult, Address]:
    if problem := url_refusal(url, allow):
        raise RefusedURL(problem)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnreachableURL(f"{parts.hostname} could not be resolved ({error})") from None
    addresses = [ipaddress.ip_address(answer[4][0].split("%")[0]) for answer in answers]
    for address in addresses:
        if kind := address_refusal(address, allow):
            raise RefusedURL(f"{parts.hostname} resolves to {address}, {kind}")
    if not addresses:
        raise UnreachableURL(f"{parts.hostname} has no address")
    return parts, addresses[0]


def _pinned_url(parts: SplitResult, address: Address) -> str:
    """The same URL aimed at the address that was checked (the Host header and TLS name stay the host's)."""
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc, fragment="").geturl()


async def read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The response's body, refused (TooLarge) as soon as it is declared or read past `max_bytes`."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"the file has {int(declared)} bytes; ChatHub keeps files up to {max_bytes} bytes")
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > max_bytes:
            raise TooLarge(f"the file is larger than {max_bytes} bytes")
    return bytes(data)
