"""The embedded DNS server's names table: one file the network code writes
and the DNS server reads.

File: `<state_dir>/names.json`, replaced atomically (temp + rename)
under an flock on `<state_dir>/names.lock`:

    {"version": 1,
     "endpoints": [
       {"container_id": "4f2a…", "network_id": "9c1e…", "network_name": "mynet",
        "netns": "/proc/1234/ns/net", "netns_id": "4:4026532567",
        "names": ["web", "web-alias", "4f2a0c3d1b2e"],
        "ipv4": "172.18.0.2", "ipv6": null,
        "internal": false, "upstreams": null}]}

One endpoint per (container, network).  `netns_id` is "st_dev:st_ino" of the
netns file when it was registered: the server serves a netns only while its
path still leads to that namespace (a dead container's /proc/PID path
vanishes, a reused pid leads elsewhere).  `upstreams` are the container's
--dns servers (None: the host's).  Order is registration order, which is
the order in which a container's networks are searched.

A container on network X resolves only names on the networks its own
netns is registered on; names match case-insensitively, also as
`name.network_name`, and PTR queries answer `name.network_name`.
"""

import fcntl
import os

from hakobune import _fastjson

TABLE_FILE = "names.json"
LOCK_FILE = "names.lock"
VERSION = 1


def netns_id(path: str) -> str:
    """The identity of the namespace a netns file leads to ("dev:ino")."""
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


class _Locked:
    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, LOCK_FILE)
        self.fd = -1

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def locked(state_dir: str) -> _Locked:
    """The table's lock: hold it across a read-modify-write."""
    return _Locked(state_dir)


def read_endpoints(state_dir: str) -> list[dict]:
    try:
        with open(os.path.join(state_dir, TABLE_FILE), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    table = _fastjson.loads(data) if data else {}
    return list(table.get("endpoints", []))


def write_endpoints(state_dir: str, endpoints: list[dict]) -> None:
    """Replace the table atomically (temp + rename).  Not fsynced, as all of
    the runroot's volatile state: the table only describes live network
    namespaces, which a reboot (the only thing that could lose an unsynced
    write) removes anyway."""
    path = os.path.join(state_dir, TABLE_FILE)
    temporary = os.path.join(state_dir, f".{TABLE_FILE}.{os.getpid()}.tmp")
    data = _fastjson.dumps({"version": VERSION, "endpoints": endpoints}).encode()
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with open(fd, "wb", closefd=True) as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def make_endpoint(netns_path: str, container_id: str, network_id: str, names, ipv4: str | None,
                  ipv6: str | None = None, network_name: str | None = None, internal: bool = False,
                  upstreams=None, links=()) -> dict:
    if not ipv4 and not ipv6:
        raise ValueError("an endpoint needs an IPv4 or an IPv6 address")
    seen = []
    for name in names:
        name = name.rstrip(".").lower()
        if name and name not in seen:
            seen.append(name)
    endpoint = {"container_id": container_id, "network_id": network_id, "network_name": network_name or network_id,
                "netns": netns_path, "netns_id": netns_id(netns_path), "names": seen, "ipv4": ipv4 or None,
                "ipv6": ipv6 or None, "internal": bool(internal),
                "upstreams": list(upstreams) if upstreams is not None else None}
    if links:
        endpoint["links"] = links_by_alias(links)
    return endpoint


def links_by_alias(links) -> dict[str, list[str]]:
    """Docker's `CONTAINER:ALIAS` links (ALIAS defaults to CONTAINER) → {alias: [containers]}."""
    out: dict[str, list[str]] = {}
    for link in links:
        target, _, alias = link.partition(":")
        target = target.strip("/").lower()
        alias = (alias or target).strip("/").lower()
        if target and target not in out.setdefault(alias, []):
            out[alias].append(target)
    return out


def add_endpoint(state_dir: str, endpoint: dict) -> None:
    """Add or replace the endpoint of (container, network)."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    key = (endpoint["container_id"], endpoint["network_id"])
    with locked(state_dir):
        endpoints = [e for e in read_endpoints(state_dir) if (e["container_id"], e["network_id"]) != key]
        endpoints.append(endpoint)
        write_endpoints(state_dir, endpoints)


def remove_endpoints(state_dir: str, predicate) -> list[dict]:
    """Remove every endpoint for which predicate(endpoint) is true; returns them."""
    if not os.path.isdir(state_dir):
        return []
    with locked(state_dir):
        endpoints = read_endpoints(state_dir)
        removed = [e for e in endpoints if predicate(e)]
        if removed:
            write_endpoints(state_dir, [e for e in endpoints if not predicate(e)])
    return removed


def netns_alive(endpoint: dict) -> bool:
    """Whether the endpoint's netns path still leads to the namespace it was
    registered with."""
    try:
        return netns_id(endpoint["netns"]) == endpoint["netns_id"]
    except OSError:
        return False


class NamesTable:
    """The endpoints indexed for lookups by the querying netns."""

    def __init__(self, endpoints: list[dict]):
        self.endpoints = endpoints
        self.networks_of_netns: dict[str, list[str]] = {}
        self.endpoints_of_network: dict[str, list[dict]] = {}
        self.names_of_network: dict[str, str] = {}
        self.links: dict[tuple[str, str], dict] = {}  # (netns_id, network_id) -> {alias: [names linked]}
        for endpoint in endpoints:
            if endpoint.get("links"):
                self.links[(endpoint["netns_id"], endpoint["network_id"])] = endpoint["links"]
            networks = self.networks_of_netns.setdefault(endpoint["netns_id"], [])
            if endpoint["network_id"] not in networks:
                networks.append(endpoint["network_id"])
            self.endpoints_of_network.setdefault(endpoint["network_id"], []).append(endpoint)
            self.names_of_network[endpoint["network_id"]] = (endpoint.get("network_name") or "").lower()

    def netns_ids(self) -> dict[str, str]:
        """netns_id -> a path to it (the latest registered)."""
        return {e["netns_id"]: e["netns"] for e in self.endpoints}

    def _own_endpoints(self, netns: str) -> list[dict]:
        return [e for e in self.endpoints if e["netns_id"] == netns]

    def lookup(self, netns: str, name: str) -> list[dict] | None:
        """The endpoints `name` stands for, seen from netns: those of the
        first of the netns's networks (in registration order) that has the
        name; None when no network of the netns has it."""
        name = name.rstrip(".").lower()
        for network_id in self.networks_of_netns.get(netns, ()):
            wanted = (self.links.get((netns, network_id)) or {}).get(name)  # a link's alias: this netns only
            if wanted:
                found = [e for e in self.endpoints_of_network.get(network_id, ())
                         if any(target in e["names"] for target in wanted)]
                if found:
                    return found
            found = [e for e in self.endpoints_of_network.get(network_id, ()) if name in e["names"]]
            if not found:
                network_name = self.names_of_network.get(network_id)
                suffix = "." + network_name if network_name else None
                if suffix and name.endswith(suffix):
                    short = name[:-len(suffix)]
                    found = [e for e in self.endpoints_of_network[network_id] if short in e["names"]]
            if found:
                return found
        return None

    def reverse(self, netns: str, address: str) -> str | None:
        """`name.network_name` of the endpoint with this address on one of the
        netns's networks, or None."""
        for network_id in self.networks_of_netns.get(netns, ()):
            for endpoint in self.endpoints_of_network.get(network_id, ()):
                if address in (endpoint.get("ipv4"), endpoint.get("ipv6")) and endpoint["names"]:
                    return f"{endpoint['names'][0]}.{self.names_of_network[network_id] or network_id}"
        return None

    def forwarding(self, netns: str) -> tuple[bool, list[str] | None]:
        """(may forward, the container's own upstreams or None for the
        host's).  A container only on --internal networks gets no forwarding."""
        own = self._own_endpoints(netns)
        allowed = any(not e.get("internal") for e in own)
        for endpoint in own:
            if endpoint.get("upstreams"):
                return allowed, endpoint["upstreams"]
        return allowed, None
