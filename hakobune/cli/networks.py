"""The network commands: network create, ls, inspect, connect, disconnect,
rm, prune, and `port` (a container's published ports).  Each handler calls
the Engine and prints as the docker CLI does."""

from hakobune.cli.images import engine_of, filters_of, write

NETWORKS_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORKS_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
                    "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}


def create(inv):
    from hakobune.cli.main import CLIError

    o = inv.opts
    if o.ipam_driver not in ("", "default"):
        raise CLIError(f'Error response from daemon: plugin "{o.ipam_driver}" not found', 1)
    if o.scope not in ("", "local"):
        raise CLIError(f"Error response from daemon: scope {o.scope} is not supported, only local", 1)
    pools = ipam_pools(list(o.subnet), list(o.ip_range), list(o.gateway))
    labels = {}
    for text in o.label:
        key, _, value = text.partition("=")
        labels[key] = value
    answer = engine_of(inv).create_network(
        inv.args[0], o.driver or "bridge", ipam_config=pools, enable_ipv6=o.ipv6, internal=o.internal,
        attachable=o.attachable, labels=labels, options=dict(o.opt))
    write(answer["Id"] + "\n")
    return 0


def ipam_pools(subnets: list[str], ranges: list[str], gateways: list[str]) -> list[dict]:
    """IPAM.Config from --subnet, --ip-range and --gateway, as the docker
    CLI's consolidateIpam: each range and gateway goes to the subnet that
    holds it (one of each per subnet)."""
    import ipaddress

    from hakobune.cli.main import CLIError

    if (ranges or gateways) and not subnets:
        raise CLIError("Error: every ip-range or gateway must have a corresponding subnet", 1)
    pools, networks = [], []
    for text in subnets:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise CLIError(f"Error: invalid CIDR address: {text}", 1) from None
        if any(network.overlaps(other) for other in networks):
            raise CLIError(f"Error: multiple overlapping subnet configuration is not supported", 1)
        networks.append(network)
        pools.append({"Subnet": text, "IPRange": "", "Gateway": "", "AuxiliaryAddresses": {}})

    def owner(text: str, what: str) -> dict:
        try:
            address = ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
        except ValueError:
            raise CLIError(f"Error: invalid CIDR address: {text}", 1) from None
        for pool, network in zip(pools, networks):
            inside = address.subnet_of(network) if "/" in text and address.version == network.version \
                else "/" not in text and address in network
            if inside:
                return pool
        raise CLIError(f"Error: no matching subnet for {what} {text}", 1)

    for text in ranges:
        pool = owner(text, "range")
        if pool["IPRange"]:
            raise CLIError(f"Error: cannot configure multiple ranges ({text}, {pool['IPRange']}) on the same "
                           f"subnet ({pool['Subnet']})", 1)
        pool["IPRange"] = text
    for text in gateways:
        pool = owner(text, "gateway")
        if pool["Gateway"]:
            raise CLIError(f"Error: cannot configure multiple gateways ({text}, {pool['Gateway']}) for the same "
                           f"subnet ({pool['Subnet']})", 1)
        pool["Gateway"] = text
    return [{k: v for k, v in pool.items() if v} for pool in pools]


def _row(network: dict, trunc: bool) -> dict:
    from hakobune.cli.images import go_time_string

    labels = network.get("Labels") or {}
    return {"ID": network["Id"][:12] if trunc else network["Id"], "Name": network["Name"],
            "Driver": network["Driver"], "Scope": network["Scope"],
            "IPv6": str(network.get("EnableIPv6", False)).lower(),
            "Internal": str(network.get("Internal", False)).lower(),
            "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
            "CreatedAt": _created_at(network["Created"], go_time_string)}


def _created_at(created: str, go_time_string) -> str:
    import calendar
    import time

    try:
        text = go_time_string(calendar.timegm(time.strptime(created[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return created
    fraction = created[19:].rstrip("Z").split("+")[0]  # Go's time.String(): ".44131029" after the seconds
    return text[:19] + fraction + text[19:]


def ls(inv):
    from hakobune.cli.images import render

    o = inv.opts
    networks = engine_of(inv).networks(filters_of(o.filter))
    networks.sort(key=lambda n: n["Name"])
    rows = [_row(n, not o.no_trunc) for n in networks]
    if o.quiet:
        write("".join(row["ID"] + "\n" for row in rows))
        return 0
    format_text = o.format or "table"
    if format_text == "json":
        from hakobune.cli.template.table import Row, json_lines

        write(json_lines([Row(r) for r in rows]))
        return 0
    write(render(format_text, rows, NETWORKS_HEADERS, NETWORKS_TABLE))
    return 0


def inspect(inv):
    from hakobune.cli.images import inspect_each

    return inspect_each(inv.args, engine_of(inv).network_inspect, inv.opts.format)


def rm(inv):
    from hakobune.cli.main import CLIError
    from hakobune.errors import HakobuneError

    engine = engine_of(inv)
    errors = []
    for name in inv.args:
        try:
            engine.remove_network(name)
            write(name + "\n")
        except HakobuneError as e:
            if inv.opts.force and type(e).__name__ == "NotFound":
                continue
            errors.append(f"Error response from daemon: {e}")
    if errors:
        raise CLIError("\n".join(errors), 1)
    return 0


def prune(inv):
    import sys

    o = inv.opts
    if not o.force:
        write("WARNING! This will remove all custom networks not used by at least one container.\n"
              "Are you sure you want to continue? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    report = engine_of(inv).prune_networks(filters_of(o.filter))
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        write("Deleted Networks:\n" + "".join(name + "\n" for name in deleted) + "\n")
    return 0


def connect(inv):
    o = inv.opts
    engine_of(inv).connect_container(inv.args[0], inv.args[1], aliases=list(o.alias), ip=o.ip or "",
                                     ip6=getattr(o, "ip6", "") or "")
    return 0


def disconnect(inv):
    engine_of(inv).disconnect_container(inv.args[0], inv.args[1], force=inv.opts.force)
    return 0


def port(inv):
    """`port CONTAINER [PRIVATE_PORT[/PROTO]]`: docker's lines."""
    from hakobune.cli.main import CLIError

    container = inv.args[0]
    settings = engine_of(inv).container_inspect(container)["NetworkSettings"]
    ports = settings.get("Ports") or {}
    if len(inv.args) > 1:
        wanted = inv.args[1]
        port_text, _, proto = wanted.partition("/")
        key = f"{port_text}/{proto or 'tcp'}"
        bindings = ports.get(key)
        if not bindings:
            raise CLIError(f"Error: No public port '{key}' published for {container}", 1)
        write("".join(f"{_host_port(b)}\n" for b in bindings))
        return 0
    lines = []
    for key, bindings in ports.items():
        for binding in bindings or ():
            lines.append(f"{key} -> {_host_port(binding)}")
    write("".join(text + "\n" for text in sorted(lines)))  # docker sorts the lines as strings
    return 0


def _host_port(binding: dict) -> str:
    host_ip = binding.get("HostIp") or "0.0.0.0"
    if ":" in host_ip:
        host_ip = f"[{host_ip}]"
    return f"{host_ip}:{binding.get('HostPort', '')}"
