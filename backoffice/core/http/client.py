"""Who the client is: its address, through the proxies of settings.TRUSTED_PROXIES only.

The client address is REMOTE_ADDR, or, when REMOTE_ADDR is one of TRUSTED_PROXIES, the
address the proxies say they received the request from (X-Forwarded-For read from the
right, past every trusted proxy): a client cannot choose its own address by sending the
header. The request log names it; the login and API-key limits count by it
(apikeys.login_throttle).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

# Headers a forwarding proxy adds (the de facto one, RFC 7239's, nginx's usual one): a
# request that carries one from an address outside TRUSTED_PROXIES came through a proxy
# that is not trusted, or claims to, and its REMOTE_ADDR may be shared.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def client_address(request) -> str:
    """The client's address, through the proxies of settings.TRUSTED_PROXIES only."""
    return client_origin(request)[0]


def client_origin(request) -> tuple[str, bool]:
    """(the client's address, whether it is the client's own).

    Not the client's own: a proxy outside TRUSTED_PROXIES forwarded the request (it
    carries one of PROXY_HEADERS), or a trusted proxy did not name a client; the
    address is then a proxy's, which every client behind it shares.
    """
    if request is None:
        return "?", False
    remote = request.META.get("REMOTE_ADDR", "") or "?"
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = _trusted_proxies()
    if not proxies or not _is_trusted(remote, proxies):
        proxied = any(request.META.get(header, "").strip() for header in PROXY_HEADERS)
        return remote, not proxied and _valid_ip(remote)
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return (hop, True) if _valid_ip(hop) else (remote, False)
    # Every hop is a trusted proxy: the first one is where the request entered.
    return (hops[0], True) if hops and _valid_ip(hops[0]) else (remote, False)


@lru_cache(maxsize=4)
def _parse_networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted_proxies() -> tuple:
    return _parse_networks(tuple(settings.TRUSTED_PROXIES))


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
