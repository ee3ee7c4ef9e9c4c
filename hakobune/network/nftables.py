"""hakobune's nftables rules: one table of its own (`table ip hakobune`, or a
table named for a non-default root; and `table ip6` of the same name while
one of its networks has IPv6), rebuilt whole from the networks' records in
one atomic transaction each time something changes.  Nobody
else's table is ever touched, listed or reordered.

What the table holds (`ruleset(...)` builds it):

- forward (filter hook): traffic within one bridge is accepted (br_netfilter
  hands bridged frames to this hook); traffic between two of hakobune's
  bridges is dropped (user networks are isolated from each other and from
  the default bridge); an internal network's bridge neither sends out nor
  receives from outside; a non-internal bridge may send anywhere, and
  receives only replies (established/related) and DNAT'd published ports.
- postrouting (nat): masquerade of each non-internal subnet leaving by
  another interface, and of loopback-sourced connections that the port
  rules DNAT'd to a container (route_localnet is on for the bridge).
- prerouting and output (nat): for destinations that are the host's own
  addresses (`fib daddr type local`, which includes 127.0.0.1), the
  published ports' DNAT to the container's address and port.

Applied through libnftables (ctypes, in process): measured in
bench/network_wiring.py, loading it and applying costs ~3 ms against
12–20 ms for spawning `nft -f -`.
"""

import os

_context = None


class NftError(OSError):
    pass


def _library():
    global _context
    if _context is None:
        import ctypes

        lib = ctypes.CDLL("libnftables.so.1", use_errno=True)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = (ctypes.c_uint32,)
        lib.nft_run_cmd_from_buffer.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        lib.nft_ctx_buffer_output.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_buffer_error.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_get_error_buffer.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = (ctypes.c_void_p,)
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        context = lib.nft_ctx_new(0)
        if not context:
            raise NftError(ctypes.get_errno(), "cannot create an nftables context")
        lib.nft_ctx_buffer_output(context)
        lib.nft_ctx_buffer_error(context)
        _context = (lib, context)
    return _context


def apply(commands: str) -> str:
    """Run nft commands (one transaction); their output, or NftError with nft's message."""
    lib, context = _library()
    if lib.nft_run_cmd_from_buffer(context, commands.encode()) != 0:
        message = (lib.nft_ctx_get_error_buffer(context) or b"").decode(errors="replace").strip()
        raise NftError(0, f"nftables: {message}")
    return (lib.nft_ctx_get_output_buffer(context) or b"").decode(errors="replace")


def table_name(root: str, default_root: str = "/var/lib/hakobune") -> str:
    """`hakobune` for the default root; `hakobune_<8 hex>` for another root
    (tests, several engines on one host), so that each root owns its table."""
    if os.path.abspath(root) == default_root:
        return "hakobune"
    from hakobune._sha256 import sha256  # not hashlib: OpenSSL's load costs every start

    return "hakobune_" + sha256(os.path.abspath(root).encode()).hexdigest()[:8]


def _names(bridges) -> str:
    return "{ " + ", ".join(f'"{name}"' for name in bridges) + " }"


def _forward_rules(bridges) -> list[str]:
    """The forward chain's rules (the same in both families: interfaces and conntrack only)."""
    forward = []
    for b in bridges:
        forward.append(f'iifname "{b["name"]}" oifname "{b["name"]}" accept')
    if len(bridges) > 1:
        names = _names(b["name"] for b in bridges)
        forward.append(f"iifname {names} oifname {names} drop")
    for b in bridges:
        name = b["name"]
        if b["internal"]:
            forward += [f'iifname "{name}" drop', f'oifname "{name}" drop']
        else:
            forward += [f'iifname "{name}" accept',
                        f'oifname "{name}" ct state established,related accept',
                        f'oifname "{name}" ct status dnat accept',
                        f'oifname "{name}" drop']
    return forward


def _table(family: str, table: str, forward, postrouting, published) -> list[str]:
    # IPv6: never DNAT what goes to ::1 (the kernel drops loopback-sourced
    # packets leaving lo); hakobune.network.portproxy serves [::1] instead
    local = "fib daddr type local" + (" ip6 daddr != ::1" if family == "ip6" else "")
    lines = [f"table {family} {table} {{}}", f"delete table {family} {table}", f"table {family} {table} {{"]
    lines.append("  chain forward {\n    type filter hook forward priority filter; policy accept;")
    lines += [f"    {rule}" for rule in forward]
    lines.append("  }")
    lines.append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;")
    lines += [f"    {rule}" for rule in postrouting]
    lines.append("  }")
    lines.append("  chain published {")
    lines += [f"    {rule}" for rule in published]
    lines.append("  }")
    lines.append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                 "    fib daddr type local jump published\n  }")
    lines.append("  chain output {\n    type nat hook output priority -100; policy accept;\n"
                 f"    {local} jump published\n  }}")
    lines.append("}")
    return lines


def ruleset(table: str, bridges: list[dict], ports: list[dict]) -> str:
    """The whole table as nft commands that replace it atomically: `ip
    <table>`, and `ip6 <table>` (the same isolation, NAT66 masquerade of
    IPv6 subnets, the published ports' DNAT to containers' IPv6 addresses)
    while a network has IPv6, removed otherwise.

    bridges: {"name", "subnet", "internal", "masquerade", "subnet6" (optional)};
    ports: {"proto", "host_ip", "host_port", "container_ip", "container_ip6"
    (optional), "container_port", "bridge"}."""
    forward = _forward_rules(bridges)
    postrouting = []
    for b in bridges:
        if not b["internal"] and b.get("masquerade", True):
            postrouting.append(f'ip saddr {b["subnet"]} oifname != "{b["name"]}" masquerade')
            postrouting.append(f'ip saddr 127.0.0.0/8 oifname "{b["name"]}" masquerade')
            postrouting.append(f'ip saddr {b["subnet"]} oifname "{b["name"]}" ct status dnat masquerade')
    published = []
    for p in ports:
        if ":" in p["host_ip"]:
            continue  # an IPv6 host address: the ip6 table's
        address = "" if p["host_ip"] in ("", "0.0.0.0") else f'ip daddr {p["host_ip"]} '
        published.append(f'{address}{p["proto"]} dport {p["host_port"]} '
                         f'dnat to {p["container_ip"]}:{p["container_port"]}')
    lines = _table("ip", table, forward, postrouting, published)
    if any(b.get("subnet6") for b in bridges) or any(p.get("container_ip6") for p in ports):
        postrouting6, published6 = [], []
        for b in bridges:
            if b.get("subnet6") and not b["internal"] and b.get("masquerade", True):
                postrouting6.append(f'ip6 saddr {b["subnet6"]} oifname != "{b["name"]}" masquerade')
                postrouting6.append(f'ip6 saddr {b["subnet6"]} oifname "{b["name"]}" ct status dnat masquerade')
        for p in ports:
            if not p.get("container_ip6") or (p["host_ip"] and ":" not in p["host_ip"] and p["host_ip"] != "0.0.0.0"):
                continue
            address = "" if p["host_ip"] in ("", "0.0.0.0", "::") else f'ip6 daddr {p["host_ip"]} '
            published6.append(f'{address}{p["proto"]} dport {p["host_port"]} '
                              f'dnat to [{p["container_ip6"]}]:{p["container_port"]}')
        lines += _table("ip6", table, forward, postrouting6, published6)
    else:
        lines += [f"table ip6 {table} {{}}", f"delete table ip6 {table}"]
    return "\n".join(lines) + "\n"


def remove_table(table: str) -> None:
    """Delete the table (both families) if it is there (its rules, chains, everything)."""
    apply(f"table ip {table} {{}}\ndelete table ip {table}\ntable ip6 {table} {{}}\ndelete table ip6 {table}\n")
