"""Who is at the other end: the client address, believing proxy headers only from our proxies.

The peer of the TCP connection is the client unless it is one of the configured reverse proxies
(``GEOTRANQUIL_TRUSTED_PROXIES``, none by default). Behind a trusted proxy the header it sets
(``GEOTRANQUIL_PROXY_HEADER``: ``X-Forwarded-For``, or ``Forwarded`` of RFC 7239) is read from
the right: the first address that is not itself a trusted proxy is the client. Anything a
client wrote further left is ignored, so a forged header cannot choose the address that rate
limits count. uvicorn must not rewrite the peer itself (``--no-proxy-headers``; ``geotranquil
serve`` and the tests run it so).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.requests import Request

from geotranquil.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of ``GEOTRANQUIL_TRUSTED_PROXIES`` (an address is a /32 or /128)."""
    out = []
    for proxy in proxies:
        try:
            out.append(ipaddress.ip_network(proxy.strip(), strict=False))
        except ValueError as exc:
            raise InvalidInput(
                f"GEOTRANQUIL_TRUSTED_PROXIES : « {proxy} » n'est ni une adresse IP ni un réseau "
                "(ex. 127.0.0.1 ou 10.0.0.0/8)"
            ) from exc
    return tuple(out)


def _address(token: str) -> str:
    """An address of a proxy header element without quotes, brackets or port."""
    value = token.strip().strip('"')
    if value.startswith("["):  # [2001:db8::1]:4711
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:  # 192.0.2.1:4711
        return value.split(":", 1)[0]
    return value


def forwarded_chain(header: str, values: Iterable[str]) -> list[str]:
    """The addresses a proxy header lists, leftmost (the farthest) first.

    Examples
    --------
    >>> forwarded_chain("x-forwarded-for", ["203.0.113.7, 10.0.0.2"])
    ['203.0.113.7', '10.0.0.2']
    >>> forwarded_chain("forwarded", ['for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"'])
    ['192.0.2.60', '2001:db8::1']
    """
    chain: list[str] = []
    for value in values:
        for element in value.split(","):
            if header == "forwarded":
                for pair in element.split(";"):
                    name, _, item = pair.partition("=")
                    if name.strip().lower() == "for":
                        chain.append(_address(item))
            elif element.strip():
                chain.append(_address(element))
    return chain


def _is_trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def resolve_client(
    peer: str | None, chain: Sequence[str], networks: Sequence[Network]
) -> str | None:
    """The client address given the TCP ``peer`` and a proxy header's ``chain``.

    Examples
    --------
    >>> nets = trusted_networks(("127.0.0.1",))
    >>> resolve_client("127.0.0.1", ["6.6.6.6", "203.0.113.7"], nets)  # 6.6.6.6 was forged
    '203.0.113.7'
    >>> resolve_client("198.51.100.9", ["6.6.6.6"], nets)  # not our proxy: its header is ignored
    '198.51.100.9'
    """
    if peer is None or not _is_trusted(peer, networks):
        return peer
    client = peer
    for address in reversed(chain):
        try:
            ipaddress.ip_address(address)
        except ValueError:  # "unknown", an obfuscated name: the last proxy's word is all we have
            return client
        client = address
        if not _is_trusted(address, networks):
            return client
    return client


def client_address(request: Request) -> str | None:
    """The address of whoever sent ``request`` (see the module's rules)."""
    settings = request.app.state.settings
    peer = request.client.host if request.client else None
    networks = trusted_networks(tuple(settings.trusted_proxies))
    if not networks:
        return peer
    header = settings.proxy_header
    chain = forwarded_chain(header, request.headers.getlist(header))
    return resolve_client(peer, chain, networks)
