"""The guard in front of every calendar address a member types in: our server fetches it, so
without this a member could make it read the cloud's metadata service, the database or any
other host on the private network (SSRF)."""

from __future__ import annotations

import ipaddress
import socket

from meetbridge.core.calendars import CalendarError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refused(ip: IpAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int, *, allow_private: bool) -> list[IpAddress]:
    """The addresses to connect to for `host`, all of them public unless `allow_private`.

    Every address the name resolves to is checked, not only the first: a name with one public
    and one private address would otherwise reach the private one on a retry."""
    if not host:
        raise CalendarError("the address has no host name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CalendarError(f"the host name {host} was not found") from exc
    addresses: list[IpAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 scope id
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise CalendarError(f"the host name {host} was not found")
    if not allow_private and any(_refused(ip) for ip in addresses):
        raise CalendarError("the address is on a private network")
    return addresses
