"""A container's networking, from its record to the kernel (issue 6): the
engine's glue between Lifecycle and hakobune.network.

    <runroot>/netns/<container id>   the container's network namespace: an nsfs
                                     bind mount, made at start for bridge and user
                                     networks, removed when the container stops
    <runroot>/dns/                   the embedded DNS server's state (hakobune.network.dns)
    <runroot>/dns/config.json        optional: the DNS server's options (tests point
                                     its upstreams at a stub resolver)

The addresses, endpoints and published ports a container holds are the
network store's records (hakobune.network.manager); nothing more is kept
here, so inspect, ps and release read those.

Network modes (HostConfig.NetworkMode): "default"/"bridge" and user networks
get a namespace of their own wired to each network (eth0, eth1, ...), the
published ports DNAT'd to the first network's address and, on user
networks, their names in the embedded DNS server (127.0.0.11); "host" uses
the host's namespace; "none" a private one with loopback only (the
runtime's); "container:NAME" joins NAME's.

Lifecycle calls (one call site each):
    wire(lifecycle, record, spec, container_dir)   start, after specgen.generate
    release(lifecycle, container_id)               exit (reconcile), teardown, failed start
    network_settings(lifecycle, record, state)     inspect's NetworkSettings
and the CLI and facade:
    ps_columns(root, runroot, record, state)       ps's PORTS and NETWORKS
    ports_text(ports)                              "127.0.0.1:18080->80/tcp" from NetworkSettings.Ports
    connect(lifecycle, ...), disconnect(lifecycle, ...), reclaim(lifecycle)
"""

from __future__ import annotations

import contextlib
import os

from hakobune.errors import Conflict, InvalidArgument, NotFound

BUILTIN_BRIDGE = "bridge"
NETNS_DIR = "netns"
DNS_DIR = "dns"


# --- what the record asks for ------------------------------------------------------------

def mode_of(record: dict) -> str:
    mode = (record.get("HostConfig") or {}).get("NetworkMode") or "default"
    return BUILTIN_BRIDGE if mode == "default" else mode


def bridged(mode: str) -> bool:
    """Whether the mode means a namespace of the container's own, wired to networks."""
    return mode not in ("host", "none") and not mode.startswith("container:")


def attachments(record: dict) -> list[tuple[str, list, str]]:
    """[(network, aliases, requested IPv4)]: the mode's network first, then
    those `network connect` recorded (EndpointsConfig's other entries)."""
    return [(network, aliases, ip) for network, aliases, ip, _, _ in endpoint_requests(record)]


def endpoint_requests(record: dict) -> list[tuple[str, list, str, str, str]]:
    """[(network, aliases, requested IPv4, requested IPv6, requested MAC)],
    as attachments(); the mode's network's MAC is its endpoint's MacAddress
    or, from clients of API < 1.44, Config.MacAddress."""
    mode = mode_of(record)
    endpoints = (record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    primary = endpoints.get(mode)
    if primary is None and mode == BUILTIN_BRIDGE:
        primary = endpoints.get("default")
    aliases, ipv4, ipv6, mac = _endpoint_options(primary)
    mac = mac or (record.get("Config") or {}).get("MacAddress") or ""
    # a container disconnected from its mode's network keeps its NetworkMode
    # (as Docker's) but is not attached to it until connected again
    out = [] if record.get("NetworkModeDetached") else [(mode, aliases, ipv4, ipv6, mac)]
    for name, config in endpoints.items():
        if name in ("default", mode):
            continue
        out.append((name, *_endpoint_options(config)))
    return out


def _endpoint_options(config: dict | None) -> tuple[list, str, str, str]:
    config = config or {}
    ipam = config.get("IPAMConfig") or {}
    return (list(config.get("Aliases") or []), ipam.get("IPv4Address") or "", ipam.get("IPv6Address") or "",
            config.get("MacAddress") or "")


def netns_path(runroot: str, container_id: str) -> str:
    return os.path.join(runroot, NETNS_DIR, container_id)


def dns_dir(runroot: str) -> str:
    return os.path.join(runroot, DNS_DIR)


def dns_config(runroot: str) -> dict | None:
    """<runroot>/dns/config.json: the DNS server's options, when present."""
    from hakobune import _fastjson

    try:
        with open(os.path.join(dns_dir(runroot), "config.json"), "rb") as f:
            return _fastjson.loads(f.read())
    except (OSError, ValueError):
        return None


def _networks(root: str):
    from hakobune.network.manager import Networks

    return Networks(root)


# --- network namespaces -------------------------------------------------------------------

def create_netns(path: str) -> None:
    """A new network namespace bind-mounted at `path`: a short-lived thread
    unshares its network namespace (a thread may: CLONE_NEWNET is per task)
    and binds it onto the file, then ends; the mount keeps it alive."""
    import _thread  # not threading: its import costs every `run` on a network

    from hakobune import _sys

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if os.path.lexists(path):
        destroy_netns(path)  # a leftover of a crash
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444))
    failure: list[BaseException] = []

    def make() -> None:
        try:
            _sys.unshare(_sys.CLONE_NEWNET)
            _sys.mount("/proc/thread-self/ns/net", path, None, _sys.MS_BIND)
        except BaseException as e:  # reported to the caller
            failure.append(e)

    done = _thread.allocate_lock()
    done.acquire()

    def make_then_release() -> None:
        try:
            make()
        finally:
            done.release()

    _thread.start_new_thread(make_then_release, ())
    done.acquire()  # the thread has finished its work (and is ending)
    if failure:
        with contextlib.suppress(OSError):
            os.unlink(path)
        from hakobune.errors import SystemFailure

        error = failure[0]
        raise SystemFailure(f"cannot create a network namespace at {path}: "
                            f"{getattr(error, 'strerror', None) or error}") from None


def destroy_netns(path: str) -> None:
    from hakobune import _sys

    with contextlib.suppress(OSError):
        _sys.umount(path, _sys.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _set_namespace(spec: dict, path: str | None) -> None:
    """The spec's network namespace: joined at `path`, or none (the host's) when None."""
    namespaces = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    if path is not None:
        namespaces.append({"type": "network", "path": path})
    spec["linux"]["namespaces"] = namespaces


# --- create ------------------------------------------------------------------------------------

def check_create(lifecycle, record: dict) -> None:
    """What Docker's daemon refuses at create: networks that do not exist,
    aliases or an address on the default bridge, a container: mode naming no
    container, endpoints together with host, none or container: modes."""
    mode = mode_of(record)
    wanted = endpoint_requests(record)
    if mode.startswith("container:"):
        lifecycle.store.lookup(mode.partition(":")[2])
    if not bridged(mode):
        if mode in ("host", "none") and len(wanted) > 1:
            raise InvalidArgument("conflicting options: cannot attach both user-defined and non-user-defined "
                                  "network-modes")
        return
    store = None
    for network, aliases, ip, ip6, mac in wanted:
        _check_attachment(network, aliases, ip, ip6)
        if mac:
            _check_mac(mac)
        if network != BUILTIN_BRIDGE:
            store = store or _networks(lifecycle.root)
            target = store.inspect(network)
            if ip:
                from hakobune.network import ipam

                ipam.parse_address(ip, store.subnet(target), "IPv4")
            if ip6:
                _check_ip6(store, target, ip6)


def _check_mac(mac: str) -> str:
    from hakobune.network.bridge import normalize_mac

    try:
        return normalize_mac(mac)
    except ValueError as e:
        raise InvalidArgument(str(e)) from None


def _check_ip6(store, target: dict, ip6: str) -> None:
    import ipaddress

    subnet6 = store.subnet6(target)
    try:
        inside = subnet6 is not None and ipaddress.ip_address(ip6) in subnet6
    except ValueError:
        raise InvalidArgument(f"invalid IPv6 address: {ip6}") from None
    if not inside:
        raise InvalidArgument(f"Invalid address {ip6}: It does not belong to any of this network's subnets.")


# --- start ------------------------------------------------------------------------------------

def wire(lifecycle, record: dict, spec: dict, container_dir: str) -> None:
    """At start, after specgen.generate: the container's network namespace
    (made and wired, or joined, or none), its published ports and DNS names,
    its /etc/hosts and /etc/resolv.conf; the spec patched to join it.
    Undoes what it did when it fails."""
    mode = mode_of(record)
    if mode == "host":
        _set_namespace(spec, None)
        _write_files(lifecycle, record, container_dir, "host", [])
        return
    if mode == "none":
        _write_files(lifecycle, record, container_dir, "none", [])
        return
    if mode.startswith("container:"):
        _join_container(lifecycle, record, spec, container_dir, mode.partition(":")[2])
        return
    container_id = record["Id"]
    path = netns_path(lifecycle.runroot, container_id)
    create_netns(path)
    try:
        try:
            attached = _attach_all(lifecycle, record, path)
        except Conflict as e:
            if "already exists in network" not in str(e):
                raise
            # Endpoints of this very container, which is not running: left by a
            # crash or a reboot (the namespace file was lost with the runroot).
            _networks(lifecycle.root).release(container_id)
            attached = _attach_all(lifecycle, record, path)
        _publish(lifecycle, record, attached)
        user = _register_names(lifecycle, record, path, attached)
        addresses = [a for _, settings in attached for a in _addresses_of(settings)]
        _write_files(lifecycle, record, container_dir, "user" if user else "bridge", addresses)
        _set_namespace(spec, path)
    except BaseException:
        release(lifecycle, container_id)
        raise


def _check_attachment(name: str, aliases, ip: str, ip6: str = "") -> None:
    if name in ("host", "none") or name.startswith("container:"):
        raise Conflict(f"container cannot be connected to network {name} together with other networks")
    if name == BUILTIN_BRIDGE:
        if aliases:
            raise InvalidArgument("network-scoped aliases are only supported for user-defined networks")
        if ip or ip6:
            raise InvalidArgument("user specified IP address is supported on user defined networks only")


def _attach_all(lifecycle, record: dict, path: str) -> list[tuple[str, dict]]:
    """Attach to every network the record names: [(network name, EndpointSettings)]."""
    store = _networks(lifecycle.root)
    name = record["Name"].lstrip("/")
    attached = []
    for network, aliases, ip, ip6, mac in endpoint_requests(record):
        if network != BUILTIN_BRIDGE:
            network = store.inspect(network)["Name"]  # an id or an id's prefix: by its name from here on
        _check_attachment(network, aliases, ip, ip6)
        if network == BUILTIN_BRIDGE:
            store.prepare_default_bridge()
        settings = _attach_one(lifecycle, store, record["Id"], path, network, aliases, ip, name, ip6, mac)
        attached.append((network, settings))
    return attached


def _attach_one(lifecycle, store, container_id: str, path: str, network: str, aliases, ip: str, name: str,
                ip6: str = "", mac: str = "") -> dict:
    """store.attach (with the requested IPv4, IPv6 and MAC); when the network
    has no address left, free what dead containers hold (reclaim) and try
    once more."""
    options = dict(aliases=aliases, ip=ip or None, name=name, ip6=ip6 or None, mac=_check_mac(mac) if mac else None)
    try:
        settings = store.attach(container_id, path, network, **options)
    except Conflict as e:
        if "no available IPv" not in str(e) or not reclaim(lifecycle):
            raise
        settings = store.attach(container_id, path, network, **options)
    return settings


# --- published ports --------------------------------------------------------------------------

def port_requests(record: dict) -> list[dict]:
    """The mappings HostConfig asks for: PortBindings, and with
    PublishAllPorts every exposed port not bound (a random host port).
    host_port is text: "" (random), "8080" or a range "8000-8010"."""
    host = record.get("HostConfig") or {}
    bindings = host.get("PortBindings") or {}
    out = []
    for key, entries in bindings.items():
        port, proto = _split_port_key(key)
        for entry in entries or [{}]:
            out.append({"proto": proto, "host_ip": (entry or {}).get("HostIp") or "",
                        "host_port": (entry or {}).get("HostPort") or "", "container_port": port})
    if host.get("PublishAllPorts"):
        for key in (record.get("Config") or {}).get("ExposedPorts") or {}:
            if key not in bindings:
                port, proto = _split_port_key(key)
                out.append({"proto": proto, "host_ip": "", "host_port": "", "container_port": port})
    return out


def _split_port_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    try:
        return int(port), proto or "tcp"
    except ValueError:
        raise InvalidArgument(f"invalid port specification: {key}") from None


def _publish(lifecycle, record: dict, attached) -> None:
    """DNAT the requested ports to the first network's address: single
    ports all at once (all or nothing), host port ranges one by one (the
    first free port of the range)."""
    requests = port_requests(record)
    if not requests or not attached:
        return
    network = attached[0][1]["NetworkID"]
    store = _networks(lifecycle.root)
    fixed, ranged = [], []
    for request in requests:
        low, _, high = request["host_port"].partition("-")
        if high:
            ranged.append((request, int(low), int(high)))
        else:
            fixed.append(dict(request, host_port=int(low or 0)))
    if fixed:
        store.publish(record["Id"], network, fixed)
    for request, low, high in ranged:
        failure = None
        for port in range(low, high + 1):
            try:
                store.publish(record["Id"], network, [dict(request, host_port=port)])
                failure = None
                break
            except Conflict as e:
                failure = e
        if failure is not None:
            raise failure


# --- DNS ----------------------------------------------------------------------------------------

def dns_names(record: dict, aliases) -> list[str]:
    """What a container answers to on a user network: its name, its aliases, its short id."""
    names = [record["Name"].lstrip("/"), *aliases, record["Id"][:12]]
    return [n for i, n in enumerate(names) if n and n not in names[:i]]


def _register_names(lifecycle, record: dict, path: str, attached) -> bool:
    """Register the container's names on each user network; whether it is on one."""
    user = False
    host = record.get("HostConfig") or {}
    for network, settings in attached:
        if network == BUILTIN_BRIDGE or not settings.get("IPAddress"):
            continue
        user = True
        aliases = settings.get("Aliases") or []
        names = dns_names(record, aliases)
        settings["DNSNames"] = names
        links = endpoint_links(record, network)
        settings["Links"] = links or None
        register_names(lifecycle.runroot, path, record["Id"], settings["NetworkID"], names, settings["IPAddress"],
                       network, not settings.get("Gateway"), host.get("Dns") or None, links,
                       settings.get("GlobalIPv6Address") or None)
    return user


def endpoint_links(record: dict, network: str) -> list[str]:
    """EndpointsConfig[network].Links (`CONTAINER:ALIAS`): on a user network,
    names only this container resolves, to the linked container's address."""
    endpoints = (record.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    return list((endpoints.get(network) or {}).get("Links") or [])


def register_names(runroot: str, path: str, container_id: str, network_id: str, names, address: str,
                   network_name: str, internal: bool, upstreams, links=(), address6: str | None = None) -> None:
    """THE call site for the embedded DNS server's registration."""
    from hakobune.network import dns

    dns.register(dns_dir(runroot), path, container_id, network_id, names, address, address6,
                 network_name=network_name,
                 internal=internal, upstreams=upstreams, config=dns_config(runroot), links=links)


def unregister_names(runroot: str, container_id: str, network_id: str | None = None) -> None:
    directory = dns_dir(runroot)
    if not os.path.isdir(directory):
        return
    from hakobune.network import dns

    dns.unregister(directory, container_id, network_id)


# --- /etc/hosts and /etc/resolv.conf -----------------------------------------------------------

def _addresses_of(settings: dict) -> list[str]:
    """An endpoint's addresses for /etc/hosts: IPv4, then IPv6."""
    return [a for a in (settings.get("IPAddress"), settings.get("GlobalIPv6Address")) if a]


def _hosts_names(record: dict) -> str:
    """What a container's own lines of /etc/hosts name: `hostname.domain hostname` or `hostname`."""
    config = record.get("Config") or {}
    hostname, domain = config.get("Hostname") or record["Id"][:12], config.get("Domainname") or ""
    return f"{hostname}.{domain} {hostname}" if domain else hostname


def _update_hosts(lifecycle, record: dict, added=(), removed=()) -> None:
    """After a hot-plug connect or disconnect, the running container's
    /etc/hosts gains (or loses) its own line for that network's addresses,
    as Docker's; the file is edited in place (it is bind-mounted), other
    lines (--add-host, the container's own edits) are kept."""
    from hakobune.network import hosts

    path = lifecycle.store.path(record["Id"], "hosts")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return
    names = _hosts_names(record)
    updated = hosts.remove_entries(text, removed, names) if removed else text
    if added:
        updated = hosts.add_entries(updated, added, names)
    if updated != text:
        _write_file(path, updated)


def _use_embedded_dns(lifecycle, record: dict) -> None:
    """A running container connected to its first user network: its
    /etc/resolv.conf now names the embedded DNS server (kept after a later
    disconnect), as Docker rebuilds it."""
    from hakobune.network import resolvconf

    host = record.get("HostConfig") or {}
    text = resolvconf.container_resolv_conf("user", dns=host.get("Dns") or None,
                                            dns_search=host.get("DnsSearch") or None,
                                            dns_options=host.get("DnsOptions") or None)
    path = lifecycle.store.path(record["Id"], "resolv.conf")
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        return
    _write_file(path, text)


def _write_files(lifecycle, record: dict, container_dir: str, mode: str, addresses) -> None:
    """The container's hosts and resolv.conf (the files specgen bind-mounts), as Docker writes them."""
    from hakobune.network import hosts, resolvconf

    config, host = record.get("Config") or {}, record.get("HostConfig") or {}
    extra = [hosts.parse_extra_host(text) for text in host.get("ExtraHosts") or ()]
    gateways = _host_gateway(lifecycle) if any(a == hosts.HOST_GATEWAY for _, a in extra) else ()
    base = None
    if mode == "host":
        try:
            with open("/etc/hosts") as f:
                base = f.read()
        except OSError:
            base = ""
    hosts_text = hosts.container_hosts(config.get("Hostname") or record["Id"][:12], addresses, extra,
                                       config.get("Domainname") or "", ipv6=any(":" in a for a in addresses),
                                       host_gateway=gateways,
                                       base=base)
    resolv_text = resolvconf.container_resolv_conf(mode, dns=host.get("Dns") or None,
                                                   dns_search=host.get("DnsSearch") or None,
                                                   dns_options=host.get("DnsOptions") or None)
    for name, text in (("hosts", hosts_text), ("resolv.conf", resolv_text)):
        _write_file(os.path.join(container_dir, name), text)


def _write_file(path: str, text: str) -> None:
    """Rewritten in place (the container does not run yet): on ext4, both a
    rename over the file and a truncation to zero make the close wait for
    the data's blocks (auto_da_alloc), a few ms each."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)


def _host_gateway(lifecycle) -> list[str]:
    """What `host-gateway` stands for: the default bridge's gateway (Docker's docker0 address)."""
    store = _networks(lifecycle.root)
    return [store.gateway(store.inspect(BUILTIN_BRIDGE))]


def _join_container(lifecycle, record: dict, spec: dict, container_dir: str, other: str) -> None:
    """container:NAME: NAME's network namespace, hosts and resolv.conf."""
    import shutil

    target = lifecycle.store.lookup(other)
    state = lifecycle.state(target)
    if not state["Running"]:
        raise Conflict(f"cannot join network namespace of a non running container: {target['Id']}")
    path = netns_path(lifecycle.runroot, target["Id"])
    if not os.path.exists(path):
        path = f"/proc/{state['Pid']}/ns/net"
    _set_namespace(spec, path)
    for name in ("hosts", "resolv.conf"):
        with contextlib.suppress(OSError):
            shutil.copyfile(lifecycle.store.path(target["Id"], name), os.path.join(container_dir, name))


# --- exit, remove, crashes -----------------------------------------------------------------------

def release(lifecycle, container_id: str) -> None:
    """Everything networking holds for a stopped container: DNS names,
    veths, addresses, published ports, then its namespace.  Cheap when it
    holds nothing (no namespace file: `ps` calls it for exited containers)."""
    path = netns_path(lifecycle.runroot, container_id)
    if not os.path.lexists(path):
        return
    unregister_names(lifecycle.runroot, container_id)
    # The namespace first: with its last process gone, the kernel then removes
    # the veths with it, off this path (see Networks.release).  A crash from
    # here on leaves records without a namespace file: reclaim frees them.
    destroy_netns(path)
    _networks(lifecycle.root).release(container_id, remove_links=False)


def reclaim(lifecycle) -> list[str]:
    """After crashes (kill -9, a reboot): free the addresses, veths and ports
    of containers that neither run nor have a namespace file (one that is
    starting has its file before it takes an address), and the namespace
    files of containers that are gone.  The ids freed."""
    directory = os.path.join(lifecycle.runroot, NETNS_DIR)
    try:
        with_netns = set(os.listdir(directory))
    except FileNotFoundError:
        with_netns = set()
    known = set(lifecycle.store.ids())
    for container_id in with_netns - known:
        unregister_names(lifecycle.runroot, container_id)
        destroy_netns(os.path.join(directory, container_id))
    live = with_netns & known
    for record in lifecycle.store.records():
        if record["Id"] not in live:
            state = lifecycle.state(record)
            if state["Running"] or state["Restarting"]:
                live.add(record["Id"])
    freed = _networks(lifecycle.root).reclaim(live)
    for container_id in freed:
        unregister_names(lifecycle.runroot, container_id)
    return freed


# --- inspect and ps ------------------------------------------------------------------------------

def _empty_settings() -> dict:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None,
            "GwPriority": 0, "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def network_settings(lifecycle, record: dict, state: dict | None = None) -> dict:
    """inspect's NetworkSettings, in Docker's shape: Networks (each
    network's EndpointSettings while the container is wired, the configured
    networks otherwise), Ports (published bindings, null for exposed ports
    not published), and the default bridge's address at the top level."""
    container_id = record["Id"]
    path = netns_path(lifecycle.runroot, container_id)
    wired = bridged(mode_of(record)) and os.path.exists(path)
    endpoints, published = {}, []
    if wired:
        store = _networks(lifecycle.root)
        endpoints = store.endpoints_of(container_id)
        published = store.ports_of(container_id)
    networks = {}
    for network, aliases, ip, ip6, _ in endpoint_requests(record):
        if network.startswith("container:"):
            continue
        if network not in endpoints:  # named by its id in the record?
            network = next((n for n, e in endpoints.items() if e["NetworkID"].startswith(network)), network)
        settings = endpoints.pop(network, None) or _empty_settings()
        if aliases and not settings.get("Aliases"):
            settings["Aliases"] = list(aliases)
        if ip or ip6:
            settings["IPAMConfig"] = {**({"IPv4Address": ip} if ip else {}), **({"IPv6Address": ip6} if ip6 else {})}
        settings["Links"] = endpoint_links(record, network) or None
        if wired and network != BUILTIN_BRIDGE and settings.get("IPAddress"):
            settings["DNSNames"] = dns_names(record, settings.get("Aliases") or [])
            # as dockerd shows it to API 1.41 clients: the short id is one of the aliases too
            if container_id[:12] not in (settings.get("Aliases") or []):
                settings["Aliases"] = [*(settings.get("Aliases") or []), container_id[:12]]
        networks[network] = settings
    networks.update(endpoints)  # attached under another name (an id) than the record's
    top = networks.get(BUILTIN_BRIDGE) or _empty_settings()
    sandbox = ""
    if wired:
        import hashlib

        st = os.stat(path)
        sandbox = hashlib.sha256(f"{st.st_dev}:{st.st_ino}:{container_id}".encode()).hexdigest()
    return {"Bridge": "", "SandboxID": sandbox, "HairpinMode": False, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Ports": ports_of(record, published) if wired else {},
            "SandboxKey": path if wired else "", "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": top["EndpointID"], "Gateway": top["Gateway"],
            "GlobalIPv6Address": top["GlobalIPv6Address"], "GlobalIPv6PrefixLen": top["GlobalIPv6PrefixLen"],
            "IPAddress": top["IPAddress"], "IPPrefixLen": top["IPPrefixLen"], "IPv6Gateway": top["IPv6Gateway"],
            "MacAddress": top["MacAddress"], "Networks": networks}


def ports_of(record: dict, published: list[dict]) -> dict:
    """NetworkSettings.Ports: {"80/tcp": [{"HostIp", "HostPort"}] or None}."""
    keys = list((record.get("Config") or {}).get("ExposedPorts") or {})
    keys += [k for k in (record.get("HostConfig") or {}).get("PortBindings") or {} if k not in keys]
    ports = {}
    for key in keys:
        port, proto = _split_port_key(key)
        bindings = [{"HostIp": m.get("host_ip") or "0.0.0.0", "HostPort": str(m["host_port"])}
                    for m in published if m["container_port"] == port and m["proto"] == proto]
        ports[key] = bindings or None
    return ports


def ports_text(ports: dict) -> str:
    """ps's PORTS from NetworkSettings.Ports, as the docker CLI's
    DisplayablePorts: sorted by container port, address, host port, proto;
    runs of consecutive ports published on the same number (or not
    published) folded into ranges, other mappings listed one by one at the
    end: "80/tcp, 127.0.0.1:18080->80/tcp"."""
    entries = []
    for key, bindings in (ports or {}).items():
        port, proto = _split_port_key(key)
        for binding in bindings or [None]:
            if binding is None:
                entries.append((port, "", 0, proto))
            else:
                entries.append((port, binding.get("HostIp") or "0.0.0.0", int(binding.get("HostPort") or 0), proto))
    entries.sort()
    groups: dict[str, list[int]] = {}
    order, result, mappings = [], [], []
    for port, host_ip, host_port, proto in entries:
        key = proto
        if host_ip:
            if host_port != port:
                address = f"[{host_ip}]" if ":" in host_ip else host_ip
                mappings.append(f"{address}:{host_port}->{port}/{proto}")
                continue
            key = f"{host_ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [port, port]
            order.append(key)
        elif port == group[1] + 1:
            group[1] = port
        else:
            result.append(_group_text(key, *group))
            groups[key] = [port, port]
    result += [_group_text(key, *groups[key]) for key in order]
    return ", ".join(result + mappings)


def _group_text(key: str, first: int, last: int) -> str:
    host_ip, _, proto = key.rpartition("/")
    text = f"{first}" if first == last else f"{first}-{last}"
    if host_ip:
        text = f"{host_ip}:{text}->{text}"
    return f"{text}/{proto}"


def ps_columns(root: str, runroot: str, record: dict, state: dict) -> dict:
    """ps's "Ports" and "Networks" for one container."""
    names = [n for n, _, _ in attachments(record) if not n.startswith("container:")]
    ports = ""
    container_id = record["Id"]
    if (state.get("Running") or state.get("Restarting")) and bridged(mode_of(record)) and \
            os.path.exists(netns_path(runroot, container_id)):
        store = _networks(root)
        ports = ports_text(ports_of(record, store.ports_of(container_id)))
        names = list(store.endpoints_of(container_id)) or names
    return {"Ports": ports, "Networks": ",".join(sorted(names))}  # docker sorts them


# --- connect and disconnect -------------------------------------------------------------------------

def connect(lifecycle, network: str, text: str, aliases=(), ip: str = "", ip6: str = "", mac: str = "") -> None:
    """network connect: recorded in the container's NetworkingConfig (so a
    later start attaches it), and hot-plugged (eth1, ...) when it runs, its
    /etc/hosts then naming it on the new network too."""
    record = lifecycle.store.lookup(text)
    mode = mode_of(record)
    if not bridged(mode):
        raise Conflict("container sharing network namespace with another container or host cannot be connected "
                       "to any other network")
    store = _networks(lifecycle.root)
    target = store.inspect(network)
    name = target["Name"]
    _check_attachment(name, aliases, ip, ip6)
    if ip6:
        _check_ip6(store, target, ip6)
    if name in (n for n, _, _ in attachments(record)) or record["Id"] in target.get("Containers", {}):
        raise Conflict(f"endpoint with name {record['Name'].lstrip('/')} already exists in network {name}")
    container_id = record["Id"]
    path = netns_path(lifecycle.runroot, container_id)
    state = lifecycle.state(record)
    if state["Running"] and os.path.exists(path):
        settings = _attach_one(lifecycle, store, container_id, path, name, list(aliases), ip,
                               record["Name"].lstrip("/"), ip6, mac)
        try:
            _register_names(lifecycle, record, path, [(name, settings)])
        except BaseException:
            store.detach(container_id, name)
            raise
        _update_hosts(lifecycle, record, added=_addresses_of(settings))
        if name != BUILTIN_BRIDGE:
            _use_embedded_dns(lifecycle, record)
    networking = dict(record.get("NetworkingConfig") or {})
    endpoints = dict(networking.get("EndpointsConfig") or {})
    requested = {**({"IPv4Address": ip} if ip else {}), **({"IPv6Address": ip6} if ip6 else {})}
    endpoints[name] = dict(_empty_settings(), Aliases=list(aliases) or None, IPAMConfig=requested or None,
                           MacAddress=mac or "")
    networking["EndpointsConfig"] = endpoints
    fields = {"NetworkingConfig": networking}
    if record.get("NetworkModeDetached") and mode in (name, target["Id"]):
        fields["NetworkModeDetached"] = False
    lifecycle.update_record(container_id, **fields)


def disconnect(lifecycle, network: str, text: str, force: bool = False) -> None:
    """network disconnect: detached (its veth, address, ports and names
    released) and forgotten by the record.  With force, a container that is
    gone only loses its endpoint."""
    store = _networks(lifecycle.root)
    target = store.inspect(network)
    name = target["Name"]
    try:
        record = lifecycle.store.lookup(text)
    except NotFound:
        if not force:
            raise
        for container_id, endpoint in target.get("Containers", {}).items():
            if text in (container_id, endpoint.get("Name")) or container_id.startswith(text):
                unregister_names(lifecycle.runroot, container_id, target["Id"])
                store.detach(container_id, name)
        return
    container_id = record["Id"]
    recorded = [n for n, _, _ in attachments(record)]
    attached = container_id in target.get("Containers", {})
    if name in ("host", "none") or (name not in recorded and target["Id"] not in recorded and not attached):
        raise Conflict(f"container {container_id} is not connected to network {name}")
    if attached:
        settings = store.endpoints_of(container_id).get(name) or {}
        unregister_names(lifecycle.runroot, container_id, target["Id"])
        store.detach(container_id, name)
        if lifecycle.state(record)["Running"]:
            _update_hosts(lifecycle, record, removed=_addresses_of(settings))
    networking = dict(record.get("NetworkingConfig") or {})
    endpoints = {k: v for k, v in (networking.get("EndpointsConfig") or {}).items() if k not in (name, target["Id"])}
    networking["EndpointsConfig"] = endpoints
    fields = {"NetworkingConfig": networking}
    if mode_of(record) in (name, target["Id"]):
        host = dict(record["HostConfig"])
        remaining = [n for n in recorded if n not in (name, target["Id"])]
        if remaining:
            host["NetworkMode"] = remaining[0]
            fields["HostConfig"] = host
        else:  # Docker keeps the mode; a later connect to it attaches it again
            fields["NetworkModeDetached"] = True
    lifecycle.update_record(container_id, **fields)


def renamed(lifecycle, record: dict) -> None:
    """After `rename` (record: the renamed one), as Docker's: the container's
    endpoints take its new name (network inspect), and on user networks a
    running container answers to the new name instead of the old one in the
    embedded DNS server; /etc/hosts is left alone (it names the hostname)."""
    path = netns_path(lifecycle.runroot, record["Id"])
    if not bridged(mode_of(record)) or not os.path.exists(path):
        return
    store = _networks(lifecycle.root)
    store.rename_endpoints(record["Id"], record["Name"].lstrip("/"))
    _register_names(lifecycle, record, path, list(store.endpoints_of(record["Id"]).items()))


# --- a whole store ---------------------------------------------------------------------------------

def teardown_store(root: str, runroot: str) -> None:
    """Remove what a store put in the kernel and left running, its records
    kept: the DNS server, namespace files, every bridge and veth of its
    networks and its nftables table (for tests and throw-away stores)."""
    from hakobune.network import dns

    directory = dns_dir(runroot)
    if os.path.isdir(directory):
        dns.stop(directory)
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(os.path.join(runroot, NETNS_DIR)):
            destroy_netns(os.path.join(runroot, NETNS_DIR, name))
    if os.path.isdir(os.path.join(root, "network")):
        _networks(root).teardown()
