"""`run`/`create`'s network flags → the create body, as the docker CLI
builds it (cli/command/container/opts.go and go-connections' nat):

    apply(opts, body)       # HostConfig.NetworkMode, PortBindings, PublishAllPorts,
                            # Dns, DnsSearch, DnsOptions, ExtraHosts; Config's
                            # ExposedPorts and MacAddress; NetworkingConfig.EndpointsConfig
    parse_port_spec(text)   # -p [ip:][hostPort:]containerPort[/proto] → [(port key, binding)]

Kept light: `run` loads it (no `re`, no ipaddress).
"""

from hakobune.createbody.runopts import OptionError

PROTOCOLS = ("tcp", "udp", "sctp")
BUILTIN_MODES = ("default", "bridge", "host", "none")


def empty_endpoint(aliases=None, ipv4: str = "", ipv6: str = "", mac: str = "") -> dict:
    """Docker 28 CLI's EndpointSettings in a create body."""
    requested = {**({"IPv4Address": ipv4} if ipv4 else {}), **({"IPv6Address": ipv6} if ipv6 else {})}
    return {"IPAMConfig": requested or None, "Links": None, "Aliases": aliases or None,
            "MacAddress": mac, "DriverOpts": None, "GwPriority": 0, "NetworkID": "", "EndpointID": "",
            "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def apply(opts, body: dict) -> None:
    host = body["HostConfig"]
    networks = list(getattr(opts, "network", []) or [])
    aliases = list(getattr(opts, "network_alias", []) or [])
    ipv4 = getattr(opts, "ip", "") or ""
    if ipv4 and not _is_ipv4(ipv4):
        raise OptionError(f"invalid IPv4 address: {ipv4}")
    ipv6 = getattr(opts, "ip6", "") or ""
    if ipv6 and not _is_ipv6(ipv6):
        raise OptionError(f"invalid IPv6 address: {ipv6}")
    mac = getattr(opts, "mac_address", "") or ""
    if mac:
        from hakobune.network.bridge import normalize_mac

        try:
            normalize_mac(mac)
        except ValueError as e:
            raise OptionError(str(e)) from None
        body["MacAddress"] = mac  # as clients of API < 1.44 send it; the endpoint's too, as docker 28's
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints_of(networks, aliases, ipv4, ipv6, mac)}
    host["NetworkMode"] = networks[0] if networks else "default"
    exposed = dict(body.get("ExposedPorts") or {})
    bindings: dict[str, list] = {}
    for text in getattr(opts, "publish", []) or []:
        for key, binding in parse_port_spec(text):
            exposed.setdefault(key, {})
            bindings.setdefault(key, []).append(binding)
    for text in getattr(opts, "expose", []) or []:
        for key in parse_expose(text):
            exposed.setdefault(key, {})
    if exposed:
        body["ExposedPorts"] = exposed
    host["PortBindings"] = bindings
    host["PublishAllPorts"] = bool(getattr(opts, "publish_all", False))
    for value in getattr(opts, "dns", []) or []:
        if not (_is_ipv4(value) or ":" in value):
            raise OptionError(f'invalid argument "{value}" for "--dns" flag: {value} is not an ip address')
    host["Dns"] = list(getattr(opts, "dns", []) or [])
    host["DnsSearch"] = list(getattr(opts, "dns_search", []) or [])
    host["DnsOptions"] = list(getattr(opts, "dns_option", []) or [])
    extra = list(getattr(opts, "add_host", []) or [])
    if extra:
        from hakobune.network.hosts import parse_extra_host

        for value in extra:
            parse_extra_host(value)
    host["ExtraHosts"] = extra or None


def endpoints_of(networks: list[str], aliases: list[str], ipv4: str, ipv6: str = "", mac: str = "") -> dict:
    """EndpointsConfig as docker 28's parseNetworkOpts: "default" with an
    empty endpoint when no --network is given; a single network without
    per-network options is left out (the daemon creates its endpoint).
    --network-alias, --ip, --ip6 and --mac-address go to the first network."""
    if not networks:
        return {"default": empty_endpoint(aliases, ipv4, ipv6, mac)}
    endpoints = {}
    user, builtin = False, False
    for index, name in enumerate(networks):
        if name in BUILTIN_MODES or name.startswith("container:"):
            builtin = True
        else:
            user = True
        if name in endpoints:
            raise OptionError(f'network "{name}" is specified multiple times')
        given = (aliases, ipv4, ipv6, mac) if index == 0 else ([], "", "", "")
        if index == 0 and len(networks) == 1 and not any(given):
            continue
        endpoints[name] = empty_endpoint(*given)
    if user and builtin:
        raise OptionError("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    return endpoints


def _port_range(text: str) -> tuple[int, int]:
    start, dash, end = text.partition("-")
    if not start.isdigit() or (dash and not end.isdigit()):
        raise ValueError(text)
    low, high = int(start), int(end) if dash else int(start)
    if low > 65535 or high > 65535 or high < low:
        raise ValueError(text)
    return low, high


def _split_proto(text: str) -> tuple[str, str]:
    port, slash, proto = text.partition("/")
    return (proto if slash and proto else "tcp"), port


def parse_port_spec(text: str) -> list[tuple[str, dict]]:
    """-p's value → [("80/tcp", {"HostIp": ..., "HostPort": ...})] (nat.ParsePortSpec)."""
    parts = text.split(":")
    container = parts[-1]
    if len(parts) == 1:
        ip, host_port = "", ""
    elif len(parts) == 2:
        ip, host_port = "", parts[0]
    else:
        ip, host_port = ":".join(parts[:-2]), parts[-2]
    proto, container = _split_proto(container)
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip and not (_is_ipv4(ip) or _is_ipv6(ip)):
        raise OptionError(f"invalid IP address: {ip}")
    if not container:
        raise OptionError(f"no port specified: {text}<empty>")
    try:
        start, end = _port_range(container)
    except ValueError:
        raise OptionError(f"invalid containerPort: {container}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = _port_range(host_port)
        except ValueError:
            raise OptionError(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise OptionError(f"invalid ranges specified for container and host Ports: {container} and {host_port}")
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise OptionError(f"invalid proto: {proto}")
    count = end - start + 1
    out = []
    for i in range(count):
        binding_port = ""
        if host_port:
            binding_port = str(host_start + i)
            if count == 1 and host_start != host_end:
                binding_port += f"-{host_end}"
        out.append((f"{start + i}/{proto}", {"HostIp": ip, "HostPort": binding_port}))
    return out


def parse_expose(text: str) -> list[str]:
    if ":" in text:
        raise OptionError(f"invalid port format for --expose: {text}")
    proto, port = _split_proto(text)
    try:
        start, end = _port_range(port)
    except ValueError:
        raise OptionError(f"invalid range format for --expose: {text}, error: invalid start port '{port}'") from None
    return [f"{p}/{proto}" for p in range(start, end + 1)]


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)


def _is_ipv6(text: str) -> bool:
    import socket

    try:
        socket.inet_pton(socket.AF_INET6, text)
        return True
    except OSError:
        return False
