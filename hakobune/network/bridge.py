"""The bridge driver's kernel side: the Linux bridge of a network (created on
first use with the gateway's address, up, route_localnet on so that DNAT'd
loopback traffic may leave through it), and a veth pair per endpoint (the host
end enslaved to the bridge, the other end created directly in the container's
namespace as ethN with its address, MAC and default route).  Through
hakobune.network.netlink; names and addresses are decided by the caller.
"""

import errno
import os
import socket

from hakobune.errors import SystemFailure
from hakobune.network.netlink import Netlink, open_inside


def host_veth_name(container_id: str, network_id: str) -> str:
    """The host end's name, derived from the pair so that it can be removed
    from records alone (also after a crash): 'hkv' + 12 hex (15 characters)."""
    from hakobune._sha256 import sha256  # not hashlib: OpenSSL's load costs every start

    return "hkv" + sha256(f"{network_id}/{container_id}".encode()).hexdigest()[:12]


def mac_for(address: str) -> str:
    """Docker's MAC for an IPv4 address: 02:42 then the address's four bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in socket.inet_aton(address))


def normalize_mac(text: str) -> str:
    """A MAC address given by the user (--mac-address): six bytes in hex,
    separated by ':' or '-', as lower-case colon form; ValueError otherwise."""
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts):
        raise ValueError(f"{text} is not a valid mac address")
    return ":".join(parts).lower()


def link_index(name: str) -> int | None:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def ensure_bridge(name: str, gateway: str, prefix_len: int, mtu: int = 1500, gateway6: str | None = None,
                  prefix6: int = 64) -> int:
    """The bridge `name` with `gateway`/`prefix_len` on it (and `gateway6`/
    `prefix6` for a network with IPv6), up; its index."""
    try:
        with Netlink() as link:
            _ignore_exists(link.create_bridge, name, mtu)
            index = socket.if_nametoindex(name)
            _ignore_exists(link.add_address, index, gateway, prefix_len)
            if gateway6:
                _write_sysctl(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "0")
                _ignore_exists(link.add_address6, index, gateway6, prefix6)
            link.set_up(index)
    except OSError as e:
        raise SystemFailure(f"failed to create bridge {name}: {e.strerror}") from None
    _write_sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
    return index


def remove_link(name: str) -> bool:
    """Delete a link (bridge or veth) by name; False when it was not there."""
    try:
        with Netlink() as link:
            link.delete_link(name)
        return True
    except OSError as e:
        if e.errno in (errno.ENODEV, errno.ENOENT):
            return False
        raise SystemFailure(f"failed to remove interface {name}: {e.strerror}") from None


def attach_veth(netns_path: str, host_name: str, bridge_index: int, address: str, prefix_len: int,
                gateway: str | None, mac: str, mtu: int = 1500, address6: str | None = None, prefix6: int = 64,
                gateway6: str | None = None) -> str:
    """Create the veth pair and configure the namespace's end: its address
    (and IPv6 address), MAC, up, loopback up, and default routes via
    `gateway` and `gateway6` (None: no route, as for internal networks).
    Returns the interface's name inside."""
    try:
        netns_fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SystemFailure(f"cannot open network namespace {netns_path}: {e.strerror}") from None
    try:
        inside_name = _free_interface_name(netns_fd)
        try:
            _create_veth(host_name, inside_name, netns_fd, mac, bridge_index, mtu)
        except OSError as e:
            raise SystemFailure(f"failed to create veth {host_name}: {e.strerror}") from None
        try:
            inner, (index, loopback) = open_inside(netns_fd, (inside_name, "lo"))
            with inner:
                inner.add_address(index, address, prefix_len)
                if address6:
                    inner.add_address6(index, address6, prefix6)
                inner.set_up(loopback)
                inner.set_up(index)
                if gateway:
                    inner.add_default_route(gateway, index)
                if address6 and gateway6:
                    inner.add_default_route(gateway6, index)
        except OSError as e:
            remove_link(host_name)
            raise SystemFailure(f"failed to configure {inside_name} in {netns_path}: {e.strerror}") from None
        return inside_name
    finally:
        os.close(netns_fd)


def _create_veth(host_name: str, inside_name: str, netns_fd: int, mac: str, bridge_index: int, mtu: int) -> None:
    """The pair; a host end of that name left by this container's previous
    run (its namespace destroyed, the kernel not yet done deleting the
    pair: a restart right after a stop) is removed first."""
    with Netlink() as link:
        try:
            link.create_veth(host_name, inside_name, netns_fd, mac, bridge_index, mtu)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise
            try:
                link.delete_link(host_name)
            except OSError as gone:
                if gone.errno not in (errno.ENODEV, errno.ENOENT):
                    raise
            link.create_veth(host_name, inside_name, netns_fd, mac, bridge_index, mtu)


def _free_interface_name(netns_fd: int) -> str:
    """eth0, or the first ethN not yet in the namespace."""
    from hakobune._sys import CLONE_NEWNET, setns

    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(netns_fd, CLONE_NEWNET)
        try:
            present = {name for _index, name in socket.if_nameindex()}
        finally:
            setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
    n = 0
    while f"eth{n}" in present:
        n += 1
    return f"eth{n}"


def _ignore_exists(function, *args) -> None:
    try:
        function(*args)
    except FileExistsError:
        pass


def _write_sysctl(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def enable_forwarding(ipv6: bool = False) -> None:
    """net.ipv4.ip_forward=1, as Docker sets it (routing between bridges and
    out); with `ipv6`, net.ipv6.conf.all.forwarding=1 too, as Docker does
    for its first IPv6 network (note: the host then ignores router
    advertisements on interfaces whose accept_ra is 1)."""
    paths = ["/proc/sys/net/ipv4/ip_forward"] + (["/proc/sys/net/ipv6/conf/all/forwarding"] if ipv6 else [])
    for path in paths:
        try:
            with open(path) as f:
                if f.read().strip() == "1":
                    continue
        except OSError:
            continue
        _write_sysctl(path, "1")
