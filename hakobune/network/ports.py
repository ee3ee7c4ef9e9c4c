"""Published ports: which host port each mapping gets.

The mechanism is DNAT in hakobune's nftables table (hakobune.network.nftables),
not a userland proxy: no process per port (no memory per published port, no
copy through user space, so loopback throughput is the kernel's), and a
connection from another host keeps its source address.  Connections from the
host itself to 127.0.0.1 are DNAT'd in the output hook; route_localnet on the
bridge lets them leave loopback-sourced, and masquerade gives them the
bridge's address so the container can answer.  IPv6 has no route_localnet:
[::1]:PORT is the one case served by a process (hakobune.network.portproxy,
one per root, only while such ports exist); other IPv6 addresses of the host
are DNAT'd to a container's IPv6 address in the `ip6` table.

A host port is refused when another of hakobune's mappings holds it (same
protocol, overlapping host address) or when a process of the host is bound
to it (tried with a bind of our own), with Docker's messages.  `-p 80`
(host port 0) gets a free port of the kernel's ephemeral range.
"""

import random
import socket

from hakobune.errors import Conflict, InvalidArgument


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    try:
        with open(path) as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


_ANY = ("", "0.0.0.0", "::")


def _overlaps(a: str, b: str) -> bool:
    return a in _ANY or b in _ANY or a == b


def _held(existing, proto: str, host_ip: str, port: int) -> bool:
    return any(m["proto"] == proto and m["host_port"] == port and _overlaps(m["host_ip"], host_ip) for m in existing)


def host_port_free(proto: str, host_ip: str, port: int) -> bool:
    """Whether a process of the host could not be shadowed: a bind of our own succeeds."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, kind) as probe:
        try:
            probe.bind((host_ip or "0.0.0.0", port))
        except OSError:
            return False
    return True


def assign(mappings: list[dict], existing: list[dict]) -> list[dict]:
    """The mappings with their host ports decided; Conflict for a taken one."""
    chosen: list[dict] = []
    for mapping in mappings:
        proto = mapping.get("proto", "tcp")
        if proto not in ("tcp", "udp"):
            raise InvalidArgument(f"invalid proto: {proto}")
        host_ip = mapping.get("host_ip") or ""
        container_port = int(mapping["container_port"])
        port = int(mapping.get("host_port") or 0)
        taken = existing + chosen
        if port:
            if _held(taken, proto, host_ip, port):
                raise Conflict(f"Bind for {host_ip or '0.0.0.0'}:{port} failed: port is already allocated")
            if not host_port_free(proto, host_ip, port):
                raise Conflict(f"failed to bind host port for {host_ip or '0.0.0.0'}:{port}:"
                               f"{mapping.get('container_ip', '')}:{container_port}/{proto}: address already in use")
        else:
            port = pick_free(proto, host_ip, taken)
        chosen.append({"proto": proto, "host_ip": host_ip, "host_port": port, "container_port": container_port})
    return chosen


def pick_free(proto: str, host_ip: str, taken: list[dict]) -> int:
    """A port of the ephemeral range that neither a mapping nor a host process holds."""
    low, high = ephemeral_range()
    span = high - low + 1
    start = random.randrange(span)
    for step in range(span):
        port = low + (start + step) % span
        if not _held(taken, proto, host_ip, port) and host_port_free(proto, host_ip, port):
            return port
    raise Conflict("no free host port in the ephemeral range")
