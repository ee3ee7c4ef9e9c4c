"""Networks as stored objects and their endpoints: `Networks(root)` is what
the engine's facade calls.

    <root>/network/.lock                              flock'd while records change
    <root>/network/networks/<id>.json                 Docker's network inspect shape, Containers left out
    <root>/network/endpoints/<network id>/<container id>.json
                                                      an endpoint: its address (IPAM's record), MAC, aliases
    <root>/network/ports/<container id>.json          a container's published ports

Network records are written durably (temp, fsync, rename, fsync of the
directory).  Endpoint and port records are written atomically (temp,
rename) but not fsynced: they are on a container's start path, and what
they guard needs no fsync: under the lock, the page cache already shows a
record to every other process, so an address or a host port recorded once
is never handed out twice, also by parallel CLI processes; and a machine
crash that could lose one also ends the container that held it (a record
that survives one without its container is freed by `reclaim`).  The kernel side
(bridge, veth) is done outside the lock from what the record says; names of
veths derive from (network, container), so `reclaim(live ids)` can undo
everything of a container that died without its detach.  The built-in
networks bridge (driver bridge), host (driver host) and none (driver null)
are created with the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import time

from hakobune import _fastjson as json
from hakobune._files import fsync_directory as sync_directory, write_durably, write_volatile
from hakobune.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

DEFAULT_ROOT = "/var/lib/hakobune"
BUILTIN_NAMES = ("bridge", "host", "none")
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
MTU_OPTION = "com.docker.network.driver.mtu"
LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
PRUNE_FILTERS = ("label", "label!", "until")


def rfc3339nano(ns: int) -> str:
    """Go's RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"


def write_atomically(path: str, data: bytes) -> None:
    """temp + rename, no fsync (endpoint and port records: see the module's docstring)."""
    write_volatile(path, data)


def remove_quietly(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def remove_durably(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    sync_directory(os.path.dirname(path))
    return True


def read_json(path: str):
    with open(path, "rb") as f:
        return json.loads(f.read())


def default_bridge_name(root: str) -> str:
    """hk0 for the default root; hk + 8 hex of the root's path for another."""
    root = os.path.abspath(root)
    if root == DEFAULT_ROOT:
        return "hk0"
    from hakobune._sha256 import sha256  # not hashlib: OpenSSL's load costs every start

    return "hk" + sha256(root.encode()).hexdigest()[:8]


def new_id() -> str:
    return os.urandom(32).hex()


class Networks:
    def __init__(self, root: str):
        from hakobune.network.nftables import table_name

        self.root = root
        self.directory = os.path.join(root, "network")
        self.table = table_name(root, DEFAULT_ROOT)

    # --- locking, paths, records ------------------------------------------------

    @contextlib.contextmanager
    def locked(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.directory, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._ensure_builtins()
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _make_directory(path: str) -> None:
        """mkdir -p whose new entries are durable (the parents fsynced)."""
        if os.path.isdir(path):
            return
        parent = os.path.dirname(path)
        Networks._make_directory(parent)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        sync_directory(parent)

    def _path(self, *names: str) -> str:
        return os.path.join(self.directory, *names)

    def _records(self) -> list[dict]:
        directory = self._path("networks")
        records = []
        for entry in sorted(os.listdir(directory)):
            if entry.endswith(".json") and not entry.startswith("."):
                with contextlib.suppress(OSError, ValueError):
                    records.append(read_json(os.path.join(directory, entry)))
        return records

    def _write_record(self, record: dict) -> None:
        write_durably(self._path("networks", record["Id"] + ".json"), json.dumps(record).encode())

    def _ensure_builtins(self) -> None:
        """bridge, host and none, made once per store (`.builtins` marks it done)."""
        marker = self._path(".builtins")
        if os.path.exists(marker):
            return
        self._make_directory(self._path("networks"))
        present = {r["Name"] for r in self._records()}
        for name, driver in (("none", "null"), ("host", "host"), ("bridge", "bridge")):
            if name in present:
                continue
            record = self._base_record(name, driver)
            record["IPAM"]["Options"] = None
            if name == "bridge":
                from hakobune.network import ipam

                # The host's routes are checked when its bridge is made
                # (prepare_default_bridge): other roots' bridges come and go.
                taken = [ipaddress.ip_network(s) for s in self._subnets_of(self._records())]
                subnet = ipam.pick_subnet(taken, [ipaddress.IPv4Network(ipam.DEFAULT_BRIDGE_POOL),
                                                  *ipam.default_pools()], routes=())
                record["IPAM"]["Config"] = [{"Subnet": str(subnet)}]
                record["Options"] = {
                    "com.docker.network.bridge.default_bridge": "true",
                    "com.docker.network.bridge.enable_icc": "true",
                    MASQUERADE_OPTION: "true",
                    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                    BRIDGE_NAME_OPTION: default_bridge_name(self.root),
                    MTU_OPTION: "1500",
                }
            self._write_record(record)
        write_durably(marker, b"")

    @staticmethod
    def _base_record(name: str, driver: str) -> dict:
        return {"Name": name, "Id": new_id(), "Created": rfc3339nano(time.time_ns()), "Scope": "local",
                "Driver": driver, "EnableIPv6": False,
                "IPAM": {"Driver": "default", "Options": {}, "Config": []},
                "Internal": False, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
                "ConfigOnly": False, "Options": {}, "Labels": {}}

    @staticmethod
    def _subnets_of(records) -> list[str]:
        return [c["Subnet"] for r in records for c in (r.get("IPAM") or {}).get("Config") or [] if c.get("Subnet")]

    def _lookup(self, name_or_id: str) -> dict:
        """Docker's order: full id, exact name, then a unique id prefix."""
        records = self._records()
        for record in records:
            if record["Id"] == name_or_id:
                return record
        for record in records:
            if record["Name"] == name_or_id:
                return record
        matches = [r for r in records if name_or_id and r["Id"].startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"network {name_or_id} is ambiguous ({len(matches)} matches found based on ID "
                                  "prefix)")
        raise NotFound(f"network {name_or_id} not found")

    def _endpoints(self, network_id: str) -> dict[str, dict]:
        directory = self._path("endpoints", network_id)
        endpoints = {}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.listdir(directory):
                if entry.endswith(".json") and not entry.startswith("."):
                    with contextlib.suppress(OSError, ValueError):
                        endpoints[entry[:-5]] = read_json(os.path.join(directory, entry))
        return endpoints

    # --- what a bridge network's record says ----------------------------------------

    @staticmethod
    def bridge_name(record: dict) -> str:
        return record["Options"].get(BRIDGE_NAME_OPTION) or "hk-" + record["Id"][:12]

    @staticmethod
    def ipam_config(record: dict, version: int = 4) -> dict | None:
        """The record's IPAM pool of that IP version (IPAM.Config lists the IPv4 one first)."""
        for config in (record.get("IPAM") or {}).get("Config") or []:
            subnet = config.get("Subnet") or ""
            if subnet and (":" in subnet) == (version == 6):
                return config
        return None

    @staticmethod
    def subnet(record: dict) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(Networks.ipam_config(record, 4)["Subnet"])

    def gateway(self, record: dict) -> str:
        config = self.ipam_config(record, 4)
        return config.get("Gateway") or str(next(self.subnet(record).hosts()))

    @staticmethod
    def subnet6(record: dict) -> ipaddress.IPv6Network | None:
        """The IPv6 subnet of a network with IPv6 enabled, else None."""
        config = Networks.ipam_config(record, 6) if record.get("EnableIPv6") else None
        return ipaddress.IPv6Network(config["Subnet"]) if config else None

    def gateway6(self, record: dict) -> str | None:
        subnet = self.subnet6(record)
        if subnet is None:
            return None
        return self.ipam_config(record, 6).get("Gateway") or str(next(subnet.hosts()))

    # --- create, list, inspect, remove, prune -------------------------------------------

    def create(self, name: str, driver: str = "bridge", subnet: str | None = None, gateway: str | None = None,
               ip_range: str | None = None, internal: bool = False, attachable: bool = False,
               labels: dict | None = None, options: dict | None = None, enable_ipv6: bool = False,
               ipam_config: list | None = None) -> dict:
        """POST /networks/create: {"Id", "Warning"}.  The pools: `ipam_config`
        (IPAM.Config: {"Subnet", "Gateway", "IPRange"}, one IPv4 and one IPv6
        at most) or subnet, gateway and ip_range for a single one."""
        driver = driver or "bridge"
        if not name:
            raise InvalidArgument("network name must not be empty")
        if driver in ("host", "null"):
            raise Conflict(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        options = dict(options or {})
        if ipam_config is None:
            ipam_config = [{"Subnet": subnet, "Gateway": gateway, "IPRange": ip_range}] \
                if subnet or gateway or ip_range else []
        with self.locked():
            records = self._records()
            if any(r["Name"] == name for r in records):
                raise AlreadyExists(f"network with name {name} already exists")
            record = self._base_record(name, driver)
            record["IPAM"]["Config"] = self._pools(ipam_config, records, bool(enable_ipv6), record["Id"])
            bridge = options.get(BRIDGE_NAME_OPTION)
            if bridge:
                if len(bridge) > 15 or "/" in bridge or " " in bridge:
                    raise InvalidArgument(f"invalid bridge name {bridge}")
                if any(self.bridge_name(r) == bridge for r in records if r["Driver"] == "bridge"):
                    raise Conflict(f"bridge name {bridge} is already in use by another network")
            record.update(EnableIPv6=bool(enable_ipv6), Internal=bool(internal), Attachable=bool(attachable),
                          Options=options, Labels=dict(labels or {}))
            self._write_record(record)
            try:
                self._sync_rules()
            except Exception:
                remove_durably(self._path("networks", record["Id"] + ".json"))
                raise
        return {"Id": record["Id"], "Warning": ""}

    def _pools(self, wanted: list, records: list, enable_ipv6: bool, network_id: str) -> list[dict]:
        """IPAM.Config of a new network: the pools asked for, checked against
        the other networks', an IPv4 one picked when none is given, and an
        IPv6 one (a unique local /64) when IPv6 is on without one."""
        from hakobune.network import ipam

        taken = [ipaddress.ip_network(s) for s in self._subnets_of(records)]
        by_version: dict[int, dict] = {}
        for pool in wanted:
            pool = pool or {}
            if not pool.get("Subnet"):
                raise InvalidArgument("ip-range and gateway require a subnet")
            network = ipam.parse_subnet(pool["Subnet"])
            if network.version in by_version:
                raise InvalidArgument(f"hakobune supports one IPv{network.version} pool per network")
            ipam.check_subnet(network, taken)
            config = {"Subnet": str(network)}
            if pool.get("IPRange"):
                ipam.parse_address(pool["IPRange"].split("/")[0], network, "ip-range")
                config["IPRange"] = str(ipaddress.ip_network(pool["IPRange"], strict=False))
            gateway = pool.get("Gateway")
            config["Gateway"] = str(ipam.parse_address(gateway, network, "gateway")) if gateway \
                else str(next(network.hosts()))
            by_version[network.version] = config
        if 4 not in by_version:
            network = ipam.pick_subnet(taken)
            by_version[4] = {"Subnet": str(network), "Gateway": str(next(network.hosts()))}
        if 6 not in by_version and enable_ipv6:
            network = ipam.pick_subnet6(network_id, taken)
            by_version[6] = {"Subnet": str(network), "Gateway": str(next(network.hosts()))}
        return [by_version[v] for v in (4, 6) if v in by_version]

    def list(self, filters: dict | None = None) -> list[dict]:
        """GET /networks: the records (Containers empty, as Docker lists them)."""
        filters = filters or {}
        _check_filters(filters, LIST_FILTERS)
        with self.locked():
            records = self._records()
            out = []
            for record in records:
                in_use = bool(self._endpoints(record["Id"]))
                if _matches(record, filters, in_use):
                    out.append(dict(record, Containers={}))
        return out

    def inspect(self, name_or_id: str) -> dict:
        """GET /networks/{id}: the record with its Containers."""
        with self.locked():
            record = self._lookup(name_or_id)
            endpoints = self._endpoints(record["Id"])
        containers = {}
        for container_id, endpoint in sorted(endpoints.items()):
            containers[container_id] = {"Name": endpoint.get("Name", ""), "EndpointID": endpoint["EndpointID"],
                                        "MacAddress": endpoint.get("MacAddress", ""),
                                        "IPv4Address": endpoint.get("IPv4Address", ""),
                                        "IPv6Address": endpoint.get("IPv6Address", "")}
        out = dict(record)
        keys = list(out)
        ordered = {k: out[k] for k in keys[:keys.index("ConfigOnly") + 1]}
        ordered["Containers"] = containers
        ordered.update({k: out[k] for k in keys[keys.index("ConfigOnly") + 1:]})
        return ordered

    def remove(self, name_or_id: str) -> str:
        """DELETE /networks/{id}: refused for built-ins and while endpoints are attached; removes its bridge."""
        from hakobune.network import bridge

        with self.locked():
            record = self._lookup(name_or_id)
            if record["Name"] in BUILTIN_NAMES:
                raise Conflict(f"{record['Name']} is a pre-defined network and cannot be removed")
            if self._endpoints(record["Id"]):
                raise Conflict(f"error while removing network: network {record['Name']} id {record['Id']} has "
                               "active endpoints")
            bridge.remove_link(self.bridge_name(record))  # first: a crash after it leaves a record, not a link
            remove_durably(self._path("networks", record["Id"] + ".json"))
            with contextlib.suppress(OSError):
                os.rmdir(self._path("endpoints", record["Id"]))
            self._sync_rules()
        return record["Name"]

    def prune(self, filters: dict | None = None) -> dict:
        """POST /networks/prune: user networks without endpoints."""
        filters = filters or {}
        _check_filters(filters, PRUNE_FILTERS)
        deleted = []
        with self.locked():
            candidates = [r for r in self._records() if r["Name"] not in BUILTIN_NAMES
                          and not self._endpoints(r["Id"]) and _prune_matches(r, filters)]
        for record in candidates:
            try:
                deleted.append(self.remove(record["Id"]))
            except (Conflict, NotFound):
                continue
        return {"NetworksDeleted": deleted}

    # --- the default bridge's subnet, against other roots -------------------------------

    def prepare_default_bridge(self) -> None:
        """Before the default bridge's first container: make its Linux bridge,
        on a subnet that no route of the host overlaps.  Its subnet was picked
        when the store was made, but other roots (other engines, test stores)
        pick from the same pools and may have put a bridge on it since: then,
        with no endpoint on it yet, a free subnet is picked again.  Done under
        a host-wide lock, so that two roots never put bridges on one subnet."""
        from hakobune.network import bridge, ipam

        if bridge.link_index(default_bridge_name(self.root)) is not None:
            return  # the usual case, without the lock
        with self.locked():
            record = self._lookup("bridge")
            name = self.bridge_name(record)
            if bridge.link_index(name) is not None:
                return
            with _host_lock():
                subnet = self.subnet(record)
                routes = ipam.host_routes()
                if any(subnet.overlaps(route) for route in routes) and not self._endpoints(record["Id"]):
                    taken = [ipaddress.ip_network(s) for s in self._subnets_of(
                        r for r in self._records() if r["Id"] != record["Id"])]
                    subnet = ipam.pick_subnet(taken, [ipaddress.IPv4Network(ipam.DEFAULT_BRIDGE_POOL),
                                                      *ipam.default_pools()], routes)
                    record["IPAM"]["Config"] = [{"Subnet": str(subnet)}]
                    self._write_record(record)
                mtu = int(record["Options"].get(MTU_OPTION) or 1500)
                sweep_dead_roots(self.table)
                register_root(self.root, self.table)
                bridge.ensure_bridge(name, self.gateway(record), subnet.prefixlen, mtu)
            bridge.enable_forwarding()
            self._sync_rules()

    # --- endpoints: attach, detach ---------------------------------------------------

    def attach(self, container_id: str, netns_path: str | None, network: str, aliases=(), ip: str | None = None,
               name: str = "", ip6: str | None = None, mac: str | None = None) -> dict:
        """Connect a container (its network namespace at `netns_path`) to a
        network: an address recorded for it (`reserve`), then, for a bridge,
        the veth wired; undone if wiring fails.  Returns Docker's
        EndpointSettings for the container's inspect."""
        record, endpoint = self.reserve(container_id, network, aliases, ip, name, ip6=ip6, mac=mac)
        try:
            self._wire(record, endpoint, netns_path)
        except BaseException:
            self.detach(container_id, record["Id"])
            raise
        return self.endpoint_settings(record, endpoint, ip, ip6)

    def reserve(self, container_id: str, network: str, aliases=(), ip: str | None = None,
                name: str = "", ip6: str | None = None, mac: str | None = None) -> tuple[dict, dict]:
        """IPAM's step alone: under the lock, pick an address of the network
        (`ip` if given and free), and an IPv6 one on a network with IPv6
        (`ip6` if given), and record the endpoint durably before the lock is
        let go.  The MAC: `mac`, or Docker's from the IPv4 address.
        (network record, endpoint record)."""
        from hakobune.network import ipam

        with self.locked():
            record = self._lookup(network)
            endpoint_path = self._path("endpoints", record["Id"], container_id + ".json")
            if os.path.exists(endpoint_path):
                raise Conflict(f"endpoint with name {name or container_id} already exists in network "
                               f"{record['Name']}")
            endpoint = {"Name": name, "EndpointID": new_id(), "MacAddress": "", "IPv4Address": "",
                        "Aliases": list(aliases or ()), "NetworkID": record["Id"]}
            if record["Driver"] == "bridge":
                from hakobune.network.bridge import host_veth_name, mac_for

                subnet = self.subnet(record)
                config = record["IPAM"]["Config"][0]
                ip_range = ipaddress.IPv4Network(config["IPRange"]) if config.get("IPRange") else None
                taken = {e["IPv4Address"].split("/")[0] for e in self._endpoints(record["Id"]).values()
                         if e.get("IPv4Address")}
                address = ipam.allocate(subnet, ip_range, self.gateway(record), taken, ip)
                endpoint.update(IPv4Address=f"{address}/{subnet.prefixlen}", MacAddress=mac or mac_for(address),
                                Veth=host_veth_name(container_id, record["Id"]))
                subnet6 = self.subnet6(record)
                if ip6 and subnet6 is None:
                    raise InvalidArgument(f"Invalid address {ip6}: It does not belong to any of this network's "
                                          "subnets.")
                if subnet6 is not None:
                    config6 = self.ipam_config(record, 6)
                    range6 = ipaddress.IPv6Network(config6["IPRange"]) if config6.get("IPRange") else None
                    taken6 = {e["IPv6Address"].split("/")[0] for e in self._endpoints(record["Id"]).values()
                              if e.get("IPv6Address")}
                    if ip6 and ipaddress.ip_address(ip6) not in subnet6:
                        raise InvalidArgument(f"Invalid address {ip6}: It does not belong to any of this "
                                              "network's subnets.")
                    address6 = ipam.allocate(subnet6, range6, self.gateway6(record), taken6, ip6)
                    endpoint["IPv6Address"] = f"{ipaddress.IPv6Address(address6)}/{subnet6.prefixlen}"
            self._make_directory(os.path.dirname(endpoint_path))
            write_atomically(endpoint_path, json.dumps(endpoint).encode())
        return record, endpoint

    def _wire(self, record: dict, endpoint: dict, netns_path: str | None) -> None:
        from hakobune.network import bridge

        if record["Driver"] == "null" and netns_path:
            from hakobune.network.netlink import open_inside

            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                link, (loopback,) = open_inside(fd, ("lo",))
                with link:
                    link.set_up(loopback)
            finally:
                os.close(fd)
            return
        if record["Driver"] != "bridge":
            return
        if not netns_path:
            raise InvalidArgument("a bridge network needs the container's network namespace")
        name = self.bridge_name(record)
        subnet, subnet6 = self.subnet(record), self.subnet6(record)
        mtu = int(record["Options"].get(MTU_OPTION) or 1500)
        existed = bridge.link_index(name) is not None
        index = bridge.ensure_bridge(name, self.gateway(record), subnet.prefixlen, mtu, self.gateway6(record),
                                     subnet6.prefixlen if subnet6 else 64)
        if not existed:
            bridge.enable_forwarding(ipv6=subnet6 is not None)
            register_root(self.root, self.table)
            with self.locked():
                self._sync_rules()
        address = endpoint["IPv4Address"].split("/")[0]
        gateway = None if record["Internal"] else self.gateway(record)
        address6, _, prefix6 = (endpoint.get("IPv6Address") or "").partition("/")
        gateway6 = None if record["Internal"] else self.gateway6(record)
        bridge.attach_veth(netns_path, endpoint["Veth"], index, address, subnet.prefixlen, gateway,
                           endpoint["MacAddress"], mtu, address6 or None, int(prefix6 or 64), gateway6)

    def endpoint_settings(self, record: dict, endpoint: dict, requested_ip: str | None = None,
                          requested_ip6: str | None = None) -> dict:
        address, _, prefix = endpoint.get("IPv4Address", "").partition("/")
        address6, _, prefix6 = (endpoint.get("IPv6Address") or "").partition("/")
        bridged = record["Driver"] == "bridge"
        routed = bridged and not record["Internal"]
        requested = {}
        if requested_ip:
            requested["IPv4Address"] = requested_ip
        if requested_ip6:
            requested["IPv6Address"] = requested_ip6
        return {"IPAMConfig": requested or None, "Links": None,
                "Aliases": endpoint.get("Aliases") or None, "MacAddress": endpoint.get("MacAddress", ""),
                "DriverOpts": None, "GwPriority": 0, "NetworkID": record["Id"],
                "EndpointID": endpoint["EndpointID"],
                "Gateway": self.gateway(record) if routed else "",
                "IPAddress": address, "IPPrefixLen": int(prefix) if prefix else 0,
                "IPv6Gateway": (self.gateway6(record) or "") if routed and address6 else "",
                "GlobalIPv6Address": address6, "GlobalIPv6PrefixLen": int(prefix6) if prefix6 else 0,
                "DNSNames": None}

    def detach(self, container_id: str, network: str) -> bool:
        """Disconnect: remove the veth, the container's published ports on this
        network and the endpoint record (its address is free again).  False when
        the container was not attached."""
        from hakobune.network import bridge

        with self.locked():
            record = self._lookup(network)
            endpoint_path = self._path("endpoints", record["Id"], container_id + ".json")
            try:
                endpoint = read_json(endpoint_path)
            except (OSError, ValueError):
                return False
            if endpoint.get("Veth"):
                bridge.remove_link(endpoint["Veth"])
            ports_changed = self._drop_ports(container_id, record["Id"])
            remove_quietly(endpoint_path)
            if ports_changed:
                self._sync_rules()
        return True

    def rename_endpoints(self, container_id: str, name: str) -> None:
        """The container's endpoints take its new name (inspect's Containers)."""
        with self.locked():
            for record in self._records():
                path = self._path("endpoints", record["Id"], container_id + ".json")
                try:
                    endpoint = read_json(path)
                except (OSError, ValueError):
                    continue
                endpoint["Name"] = name
                write_atomically(path, json.dumps(endpoint).encode())

    def endpoints_of(self, container_id: str) -> dict[str, dict]:
        """{network name: EndpointSettings} for every network the container is on."""
        with self.locked():
            out = {}
            for record in self._records():
                endpoint = self._endpoints(record["Id"]).get(container_id)
                if endpoint is not None:
                    out[record["Name"]] = self.endpoint_settings(record, endpoint)
        return out

    def release(self, container_id: str, remove_links: bool = True) -> None:
        """Everything of a container, on every network, in one pass under the
        lock: its published ports, veths and addresses.  remove_links=False
        leaves the veths to the kernel: when the container's network
        namespace is gone, the kernel removes both ends of its veths with it,
        off the caller's path (deleting one here costs tens of ms of RCU
        grace periods)."""
        from hakobune.network import bridge

        with self.locked():
            if self._drop_ports(container_id, None):
                self._sync_rules()
            for record in self._records():
                endpoint_path = self._path("endpoints", record["Id"], container_id + ".json")
                try:
                    endpoint = read_json(endpoint_path)
                except (OSError, ValueError):
                    continue
                if remove_links and endpoint.get("Veth"):
                    bridge.remove_link(endpoint["Veth"])
                remove_quietly(endpoint_path)

    def reclaim(self, live_container_ids) -> list[str]:
        """After a crash: release every container whose id is not in
        `live_container_ids`; the ids released."""
        live = set(live_container_ids)
        with self.locked():
            dead = set()
            for record in self._records():
                dead |= set(self._endpoints(record["Id"])) - live
            with contextlib.suppress(FileNotFoundError):
                dead |= {e[:-5] for e in os.listdir(self._path("ports")) if e.endswith(".json")} - live
        for container_id in sorted(dead):
            self.release(container_id)
        return sorted(dead)

    # --- published ports -------------------------------------------------------------

    def publish(self, container_id: str, network: str, mappings: list[dict]) -> list[dict]:
        """DNAT host ports to the container's address on `network`.  A mapping:
        {"proto": "tcp"|"udp", "host_ip": "" or an address, "host_port": int
        (0: pick a free one), "container_port": int}.  Returns them with the
        host ports chosen; Conflict when a host port is taken."""
        from hakobune.network import ports

        with self.locked():
            record = self._lookup(network)
            endpoint = self._endpoints(record["Id"]).get(container_id)
            if endpoint is None or not endpoint.get("IPv4Address"):
                raise Conflict(f"container {container_id} has no address on network {record['Name']}")
            address = endpoint["IPv4Address"].split("/")[0]
            address6 = (endpoint.get("IPv6Address") or "").split("/")[0]
            if not address6 and any(":" in (m.get("host_ip") or "") and m.get("host_ip") != "::1" for m in mappings):
                raise InvalidArgument(f"cannot publish to an IPv6 host address: container {container_id} has no "
                                      f"IPv6 address on network {record['Name']}")
            existing = self._all_ports()
            chosen = ports.assign(mappings, existing)
            for mapping in chosen:
                mapping.update(container_ip=address, network_id=record["Id"], bridge=self.bridge_name(record))
                if address6:
                    mapping["container_ip6"] = address6
            path = self._path("ports", container_id + ".json")
            mine = [m for m in existing if m.get("container_id") == container_id]
            for mapping in chosen:
                mapping["container_id"] = container_id
            self._make_directory(os.path.dirname(path))
            write_atomically(path, json.dumps(mine + chosen).encode())
            try:
                self._sync_rules()
            except Exception:
                self._drop_ports(container_id, record["Id"])
                raise
        return chosen

    def ports_of(self, container_id: str) -> list[dict]:
        with self.locked():
            return [m for m in self._all_ports() if m.get("container_id") == container_id]

    def _all_ports(self) -> list[dict]:
        out = []
        with contextlib.suppress(FileNotFoundError):
            for entry in sorted(os.listdir(self._path("ports"))):
                if entry.endswith(".json") and not entry.startswith("."):
                    with contextlib.suppress(OSError, ValueError):
                        out += read_json(self._path("ports", entry))
        return out

    def _drop_ports(self, container_id: str, network_id: str | None) -> bool:
        path = self._path("ports", container_id + ".json")
        try:
            mappings = read_json(path)
        except (OSError, ValueError):
            return False
        kept = [m for m in mappings if network_id is not None and m.get("network_id") != network_id]
        if len(kept) == len(mappings):
            return False
        if kept:
            write_atomically(path, json.dumps(kept).encode())
        else:
            remove_quietly(path)
        return True

    # --- nftables ---------------------------------------------------------------

    def _sync_rules(self) -> None:
        """Rebuild hakobune's table from the records (called under the lock)."""
        from hakobune.network import nftables
        from hakobune.network.bridge import link_index

        bridges = []
        for record in self._records():
            if record["Driver"] != "bridge" or link_index(self.bridge_name(record)) is None:
                continue
            masquerade = record["Options"].get(MASQUERADE_OPTION, "true") != "false"
            entry = {"name": self.bridge_name(record), "subnet": str(self.subnet(record)),
                     "internal": bool(record["Internal"]), "masquerade": masquerade}
            subnet6 = self.subnet6(record)
            if subnet6 is not None:
                entry["subnet6"] = str(subnet6)
            bridges.append(entry)
        ports = self._all_ports()
        try:
            if bridges or ports:
                nftables.apply(nftables.ruleset(self.table, bridges, ports))
            else:
                nftables.remove_table(self.table)
        except OSError as e:
            from hakobune.errors import SystemFailure

            raise SystemFailure(f"failed to program nftables: {e.strerror or e}") from None
        from hakobune.network import portproxy  # [::1]:PORT, which no DNAT can serve

        with contextlib.suppress(OSError):
            portproxy.sync(self.table, ports)

    def teardown(self) -> None:
        """Remove everything this root put in the kernel: every bridge and veth
        of its records and its nftables table (records stay)."""
        from hakobune.network import bridge, nftables

        with self.locked():
            for record in self._records():
                for endpoint in self._endpoints(record["Id"]).values():
                    if endpoint.get("Veth"):
                        bridge.remove_link(endpoint["Veth"])
                if record["Driver"] == "bridge":
                    bridge.remove_link(self.bridge_name(record))
            with contextlib.suppress(OSError):
                nftables.remove_table(self.table)
            from hakobune.network import portproxy

            portproxy.stop(self.table)
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(ROOTS_REGISTRY, self.table))


HOST_LOCK = "/run/lock/hakobune-bridges.lock"
ROOTS_REGISTRY = "/run/hakobune-roots"  # tmpfs: a file per root that put bridges in the kernel, named by its table


def register_root(root: str, table: str) -> None:
    """Note that `root` has bridges and a table in the kernel (once)."""
    path = os.path.join(ROOTS_REGISTRY, table)
    if os.path.exists(path):
        return
    with contextlib.suppress(OSError):
        os.makedirs(ROOTS_REGISTRY, mode=0o700, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as f:
            f.write(os.path.abspath(root))
        os.replace(temporary, path)


def sweep_dead_roots(own_table: str) -> list[str]:
    """Remove the bridges and nftables table of every registered root whose
    directory is gone (a throw-away store: a test's, a benchmark's), so that
    their subnets' routes do not pile up; called under the host lock when a
    root makes its default bridge.  The tables removed."""
    from hakobune.network import bridge, nftables

    swept = []
    try:
        entries = os.listdir(ROOTS_REGISTRY)
    except OSError:
        return swept
    for table in entries:
        if table == own_table or table.endswith(".tmp"):
            continue
        path = os.path.join(ROOTS_REGISTRY, table)
        try:
            with open(path) as f:
                root = f.read().strip()
        except OSError:
            continue
        if not root or os.path.isdir(os.path.join(root, "network")):
            continue
        try:
            listing = nftables.apply(f"list table ip {table}\n")
        except OSError:
            listing = ""
        names = {default_bridge_name(root)}
        for word in listing.replace("{", " ").replace("}", " ").replace(",", " ").split():
            if word.startswith('"hk') and word.endswith('"'):
                names.add(word.strip('"'))
        for name in names:
            with contextlib.suppress(Exception):
                bridge.remove_link(name)
        with contextlib.suppress(OSError):
            nftables.remove_table(table)
        from hakobune.network import portproxy

        portproxy.stop(table)
        with contextlib.suppress(OSError):
            os.unlink(path)
        swept.append(table)
    return swept


@contextlib.contextmanager
def _host_lock():
    """flock'd by every root while it puts a bridge on a subnet (the host's
    routes are shared by all of them); without /run/lock, no lock."""
    try:
        fd = os.open(HOST_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _check_filters(filters: dict, allowed) -> None:
    for name in filters:
        if name not in allowed:
            raise InvalidArgument(f"Invalid filter '{name}'")


def _label_matches(labels: dict, wanted: str) -> bool:
    key, eq, value = wanted.partition("=")
    if key not in labels:
        return False
    return not eq or labels[key] == value


def _matches(record: dict, filters: dict, in_use: bool) -> bool:
    """Docker's network list filters; values of one filter are ORed."""
    builtin = record["Name"] in BUILTIN_NAMES
    tests = {
        "driver": lambda v: record["Driver"] == v,
        "id": lambda v: record["Id"].startswith(v),
        "name": lambda v: v in record["Name"],
        "label": lambda v: _label_matches(record.get("Labels") or {}, v),
        "scope": lambda v: record["Scope"] == v,
        "type": lambda v: (v == "builtin") == builtin if v in ("builtin", "custom") else _bad_type(v),
        "dangling": lambda v: (v in ("true", "1")) == (not in_use and not builtin),
    }
    for name, values in filters.items():
        if not any(tests[name](value) for value in values):
            return False
    return True


def _bad_type(value: str) -> bool:
    raise InvalidArgument(f"invalid filter: 'type'='{value}'")


def _prune_matches(record: dict, filters: dict) -> bool:
    labels = record.get("Labels") or {}
    for wanted in filters.get("label", []):
        if not _label_matches(labels, wanted):
            return False
    for wanted in filters.get("label!", []):
        if _label_matches(labels, wanted):
            return False
    for until in filters.get("until", []):
        if not _created_before(record["Created"], until):
            return False
    return True


def _created_before(created: str, until: str) -> bool:
    import calendar

    try:
        limit = float(until)
    except ValueError:
        raise InvalidArgument(f"invalid filter 'until={until}'") from None
    seconds = calendar.timegm(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds < limit

