"""IP address management: subnets for networks and addresses for endpoints.

Subnets come from Docker's default pools: 172.17.0.0/16 for the default
bridge, then 172.18.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20,
192.168.16.0/20, … 192.168.240.0/20 — skipping any that overlaps a route of
the host (read from /proc/net/route; the default route excepted) or another
network's subnet.  Addresses are picked here from what the caller says is
taken; the caller (hakobune.network.manager) holds the lock and records the
choice durably before anyone else may pick.
"""

import ipaddress

from hakobune.errors import Conflict, InvalidArgument

DEFAULT_BRIDGE_POOL = "172.17.0.0/16"


def default_pools():
    """The candidate subnets for user networks, in Docker's order."""
    for second in range(18, 32):
        yield ipaddress.IPv4Network(f"172.{second}.0.0/16")
    yield from ipaddress.IPv4Network("192.168.0.0/16").subnets(new_prefix=20)


def host_routes(path: str = "/proc/net/route") -> list[ipaddress.IPv4Network]:
    """The host's IPv4 routes' destinations, the default route left out."""
    routes = []
    try:
        with open(path) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) < 8:
                    continue
                destination = int(fields[1], 16).to_bytes(4, "little")
                mask = int(fields[7], 16).to_bytes(4, "little")
                network = ipaddress.IPv4Network((int.from_bytes(destination, "big"),
                                                 bin(int.from_bytes(mask, "big")).count("1")), strict=False)
                if network.prefixlen:
                    routes.append(network)
    except OSError:
        pass
    return routes


def pick_subnet(taken: list[ipaddress.IPv4Network], candidates=None, routes=None) -> ipaddress.IPv4Network:
    """The first candidate overlapping neither `taken` nor the host's routes
    (`routes`, read from the kernel when None)."""
    avoid = list(taken) + (host_routes() if routes is None else list(routes))
    for candidate in candidates if candidates is not None else default_pools():
        if not any(candidate.overlaps(other) for other in avoid):
            return candidate
    raise InvalidArgument("could not find an available, non-overlapping IPv4 address pool among the defaults to "
                          "assign to the network")


def check_subnet(subnet: ipaddress.IPv4Network, taken: list[ipaddress.IPv4Network]) -> None:
    """A subnet asked for by the user must not overlap another network's."""
    if any(subnet.overlaps(other) for other in taken):
        raise Conflict("Pool overlaps with other one on this address space")


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}: invalid CIDR address: {text}") from None
    if str(network.network_address) != text.split("/")[0]:
        raise InvalidArgument(f"invalid pool request: Invalid Address/Mask combination: {text}")
    if network.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {text}: prefix too long for a bridge network")
    return network


def parse_address(text: str, within: ipaddress.IPv4Network, what: str) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what} address {text}") from None
    if address not in within:
        raise InvalidArgument(f"{what} address {text} does not belong to subnet {within}")
    return address


def allocate(subnet: ipaddress.IPv4Network, ip_range: ipaddress.IPv4Network | None, gateway: str,
             taken: set[str], wanted: str | None = None) -> str:
    """An address of `subnet` (within `ip_range` if given) that is neither the
    network's, the broadcast, the gateway nor in `taken`; `wanted` if free."""
    reserved = {str(subnet.network_address), str(subnet.broadcast_address), gateway} | taken
    if wanted:
        address = parse_address(wanted, subnet, "requested")
        if str(address) in reserved:
            raise Conflict(f"Address already in use: {wanted}")
        return str(address)
    pool = ip_range or subnet
    for address in pool.hosts() if pool.prefixlen < 31 else pool:
        if str(address) not in reserved:
            return str(address)
    raise Conflict(f"no available IPv4 addresses on this network's address pools: {subnet}")
