"""Networks (issue: networks): bridges, veths, IPAM, nftables rules, published
ports and the embedded DNS server.  Given a network namespace path, it wires
it; it knows nothing of images.

Modules:

- `manager`: `Networks(root)`, the stored networks (Docker's inspect JSON
  under <root>/network, durable and flock'd), endpoints (attach/reserve,
  detach, release, reclaim after a crash), published ports; the built-in
  networks bridge, host and none.
- `ipam`: Docker's subnet pools, skipping the host's routes and other
  networks; addresses within a subnet (IPv4 and IPv6; a unique local /64
  for an IPv6 network given none).
- `bridge`: the Linux bridge and the veth pairs (eth0 inside, created
  directly in the container's namespace, with its IPv4 and IPv6 addresses
  and routes), Docker's MAC from the address or the user's.
- `netlink`: a small rtnetlink client on the standard library's sockets.
- `nftables`: hakobune's own table (`ip hakobune`, and `ip6 hakobune` while
  a network has IPv6: NAT66), rebuilt atomically; a table per root.
- `ports`: host ports for -p/-P (DNAT; why not a userland proxy is there).
- `portproxy`: the one exception, [::1]:PORT, which no DNAT can serve.
- `hosts`, `resolvconf`: a container's /etc/hosts (and its edits on
  network connect/disconnect) and /etc/resolv.conf.
- `dns`: the embedded DNS server (another module's owner).

How it talks to the kernel, chosen by measurement (bench/network_wiring.py,
this VM, 2 cores, median of 7 fresh interpreters; "wire" = one container's
veth pair into a fresh netns with address, MAC, default route and lo up,
the bridge already there):

    way                              import      wire
    netlink on the stdlib (ours)     8.2 ms      1.8 ms
    the `ip` command (6 spawns)      6.2 ms      8.1 ms   (import = subprocess)
    pyroute2 0.9.7                  77.6 ms     87.2 ms   (its lazy submodules load on first use)

    nftables through libnftables (ctypes, in process):  4.2 ms to load and apply a table
    nftables through `nft -f -`:                       17.6 ms

So: our own netlink (no dependency; pyroute2 alone costs more than the whole
start budget) and libnftables through ctypes (Debian's nftables package,
present wherever `nft` is).  Through `Networks`, with the endpoint record
(atomic, not fsynced: see manager) and the lock: attaching a container takes
~1.5 ms (median), the first container of a network (bridge created, rules
written) ~5–6 ms, publishing a port ~2 ms; importing
hakobune.network.manager ~8 ms without cached bytecode.  Releasing a stopped
container's endpoints takes ~0.3 ms: its veths go with its namespace, which
the kernel tears down off the caller's path.  A whole `run --rm busybox true`
on the default bridge costs ~10 ms more than with `--network none`
(bench/network_run_latency.py; hakobune.engine.netsetup wires containers).

Routing: like Docker, net.ipv4.ip_forward is set to 1 when a bridge is first
created (it is left on), and route_localnet=1 on each bridge so that
connections to 127.0.0.1:<published port> can be DNAT'd to a container.
Internal networks get no default route in the container, no masquerade and
no forwarding to or from other interfaces.
"""
