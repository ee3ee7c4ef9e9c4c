"""IP address management: subnets for networks and addresses for endpoints.

Subnets come from Docker's default pools: 172.17.0.0/16 for the default
bridge, then 172.18.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20,
192.168.16.0/20, … 192.168.240.0/20 — skipping any that overlaps a route of
the host (read from /proc/net/route; the default route excepted) or another
network's subnet.  Addresses are picked here from what the caller says is
taken; the caller (hakobune.network.manager) holds the lock and records the
choice durably before anyone else may pick.

IPv6 (networks made with --ipv6): the subnet given, or, as Docker 27+ does,
a unique local /64 (fdXX:XXXX:XXXX::/64, its 40-bit global id drawn from
the network's id) that overlaps no route of the host (/proc/net/ipv6_route)
nor another network; addresses from ::2 on, the gateway ::1 unless given.
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


def host_routes6(path: str = "/proc/net/ipv6_route") -> list[ipaddress.IPv6Network]:
    """The host's IPv6 routes' destinations: neither the default route, nor
    link-local, multicast or host routes (/128, such as the host's own)."""
    routes = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 2:
                    continue
                prefix = int(fields[1], 16)
                if not 0 < prefix < 128:
                    continue
                network = ipaddress.IPv6Network((int(fields[0], 16), prefix), strict=False)
                if not (network.is_link_local or network.is_multicast):
                    routes.append(network)
    except (OSError, ValueError):
        pass
    return routes


def pick_subnet6(seed: str, taken, routes=None) -> ipaddress.IPv6Network:
    """A unique local /64 for a network with IPv6 and no subnet given:
    derived from `seed` (the network's id), the next ones tried when it
    overlaps `taken` or a route of the host."""
    import hashlib

    avoid = list(taken) + (host_routes6() if routes is None else list(routes))
    for attempt in range(64):
        digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
        global_id = int.from_bytes(digest[:5], "big")
        candidate = ipaddress.IPv6Network(((0xfd << 120) | (global_id << 80), 64))
        if not any(candidate.overlaps(other) for other in avoid):
            return candidate
    raise InvalidArgument("could not find an available, non-overlapping IPv6 address pool among the defaults to "
                          "assign to the network")


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


def parse_subnet(text: str):
    """An IPv4 or IPv6 subnet in CIDR form (its network address exactly)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}: invalid CIDR address: {text}") from None
    if network.network_address != ipaddress.ip_address(text.split("/")[0]):
        raise InvalidArgument(f"invalid pool request: Invalid Address/Mask combination: {text}")
    if network.prefixlen > network.max_prefixlen - 2:
        raise InvalidArgument(f"invalid subnet {text}: prefix too long for a bridge network")
    return network


def parse_address(text: str, within, what: str):
    """An address of the subnet `within` (of its family)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what} address {text}") from None
    if address.version != within.version or address not in within:
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
    candidates = pool.hosts() if pool.prefixlen < pool.max_prefixlen - 1 else iter(pool)
    for count, address in enumerate(candidates):
        if str(address) not in reserved:
            return str(address)
        if count > len(reserved) + 1:  # an IPv6 /64: taken addresses are few, never scan it all
            break
    family = "IPv6" if subnet.version == 6 else "IPv4"
    raise Conflict(f"no available {family} addresses on this network's address pools: {subnet}")
