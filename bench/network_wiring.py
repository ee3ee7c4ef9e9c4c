"""How to talk to the kernel for a container's network: the numbers behind
hakobune.network's choices.

    .venv/bin/python bench/network_wiring.py [--runs 20] [--pyroute2-path DIR]

For each way of wiring one container onto a bridge (a veth pair, one end
moved into a fresh network namespace as eth0 with an address, a MAC, a
default route, loopback up), it measures, in fresh interpreters:

- import: the cost of loading the way (hakobune.network.netlink, pyroute2, or
  subprocess for the `ip` command);
- wire: one container's veth set up, median of --runs.

and for nftables: loading libnftables through ctypes against one `nft -f -`
run, each applying the same small ruleset.

pyroute2 is not a dependency: pass --pyroute2-path to a directory where it
was installed (`pip install --target DIR pyroute2`) to include it.  Every
bridge, veth, namespace and nft table made here is removed at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

BRIDGE = "hkbench0"
NETNS = "hkbench"
SUBNET_GATEWAY, PREFIX = "10.250.77.1", 24

IMPORT_SNIPPETS = {
    "hakobune.network.netlink": "import hakobune.network.bridge",
    "pyroute2": "import pyroute2",
    "subprocess (ip command)": "import subprocess",
}

WIRE_HAKOBUNE = """
import os, time
from hakobune.network import bridge
index = bridge.ensure_bridge({bridge!r}, {gateway!r}, {prefix})
start = time.perf_counter()
bridge.attach_veth("/run/netns/{netns}", "hkbenchv", index, "10.250.77.2", {prefix}, {gateway!r},
                   bridge.mac_for("10.250.77.2"))
print(time.perf_counter() - start)
"""

WIRE_IP = """
import subprocess, time
start = time.perf_counter()
def ip(*args): subprocess.run(["ip", *args], check=True)
ip("link", "add", "hkbenchv", "mtu", "1500", "type", "veth", "peer", "name", "eth0", "netns", "{netns}")
ip("link", "set", "hkbenchv", "master", {bridge!r}, "up")
ip("-n", "{netns}", "addr", "add", "10.250.77.2/{prefix}", "dev", "eth0")
ip("-n", "{netns}", "link", "set", "eth0", "address", "02:42:0a:fa:4d:02", "up")
ip("-n", "{netns}", "link", "set", "lo", "up")
ip("-n", "{netns}", "route", "add", "default", "via", {gateway!r})
print(time.perf_counter() - start)
"""

WIRE_PYROUTE2 = """
import time
start = time.perf_counter()
from pyroute2 import IPRoute, NetNS
with IPRoute() as ipr:
    master = ipr.link_lookup(ifname={bridge!r})[0]
    ipr.link("add", ifname="hkbenchv", kind="veth", peer={{"ifname": "eth0", "net_ns_fd": "{netns}"}})
    index = ipr.link_lookup(ifname="hkbenchv")[0]
    ipr.link("set", index=index, master=master, state="up")
with NetNS("{netns}") as ns:
    eth0 = ns.link_lookup(ifname="eth0")[0]
    ns.addr("add", index=eth0, address="10.250.77.2", prefixlen={prefix})
    ns.link("set", index=eth0, address="02:42:0a:fa:4d:02", state="up")
    ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
    ns.route("add", dst="0.0.0.0/0", gateway={gateway!r})
print(time.perf_counter() - start)
"""

NFT_RULES = ('table ip hkbench {}\ndelete table ip hkbench\n'
             'table ip hkbench { chain f { type filter hook forward priority 0; policy accept; '
             'iifname "hkbench0" oifname "hkbench0" accept; }; chain p { type nat hook postrouting priority 100; '
             'ip saddr 10.250.77.0/24 oifname != "hkbench0" masquerade; }; }\n')

NFT_LIB = """
import time
start = time.perf_counter()
from hakobune.network import nftables
nftables.apply({rules!r})
print(time.perf_counter() - start)
"""

NFT_CMD = """
import time
start = time.perf_counter()
import subprocess
subprocess.run(["nft", "-f", "-"], input={rules!r}.encode(), check=True)
print(time.perf_counter() - start)
"""


def python(code: str, extra_path: str | None = None) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, os.getcwd()) if p)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_time(snippet: str, extra_path: str | None, runs: int) -> float:
    code = f"import time\nstart = time.perf_counter()\n{snippet}\nprint(time.perf_counter() - start)"
    return statistics.median(python(code, extra_path) for _ in range(runs)) * 1000


def wire_time(template: str, extra_path: str | None, runs: int) -> float:
    samples = []
    for _ in range(runs):
        subprocess.run(["ip", "netns", "add", NETNS], check=True)
        try:
            samples.append(python(template.format(bridge=BRIDGE, gateway=SUBNET_GATEWAY, prefix=PREFIX, netns=NETNS),
                                  extra_path))
        finally:
            subprocess.run(["ip", "link", "del", "hkbenchv"], capture_output=True)
            subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pyroute2-path")
    options = parser.parse_args()
    results = []
    try:
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{SUBNET_GATEWAY}/{PREFIX}", "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        ways = [("hakobune.network.netlink", WIRE_HAKOBUNE, None), ("subprocess (ip command)", WIRE_IP, None)]
        if options.pyroute2_path:
            ways.append(("pyroute2", WIRE_PYROUTE2, options.pyroute2_path))
        for name, template, path in ways:
            results.append((name, import_time(IMPORT_SNIPPETS[name], path, options.runs),
                            wire_time(template, path, options.runs)))
        results.append(("nftables via libnftables (ctypes)", None,
                        statistics.median(python(NFT_LIB.format(rules=NFT_RULES)) for _ in range(options.runs)) * 1000))
        results.append(("nftables via `nft -f -`", None,
                        statistics.median(python(NFT_CMD.format(rules=NFT_RULES)) for _ in range(options.runs)) * 1000))
    finally:
        subprocess.run(["nft", "delete", "table", "ip", "hkbench"], capture_output=True)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    print(f"{'way':40} {'import ms':>10} {'wire/apply ms':>14}")
    for name, imported, wired in results:
        print(f"{name:40} {'' if imported is None else f'{imported:10.1f}':>10} {wired:14.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
