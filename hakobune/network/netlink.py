"""A small rtnetlink client on the standard library's AF_NETLINK sockets: just
what wiring a bridge and a veth needs (links, addresses, routes), each a
request answered by the kernel's ack.  No policy here; hakobune.network.bridge
decides what to create.

Errors come back as OSError with the kernel's errno (EEXIST, ENODEV, ...).
`open_inside(netns_fd)` gives a socket opened inside another network
namespace (the calling thread joins it for the socket's creation only).
"""

import os
import socket
import struct

NETLINK_ROUTE = 0

NLMSG_ERROR = 2
RTM_NEWLINK, RTM_DELLINK = 16, 17
RTM_NEWADDR = 20
RTM_NEWROUTE = 24

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
NLA_F_NESTED = 0x8000

IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
IFA_FLAGS = 8
IFA_F_NODAD = 0x02
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1

_HEADER = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")


def attribute(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def string(kind: int, text: str) -> bytes:
    return attribute(kind, text.encode() + b"\0")


def u32(kind: int, value: int) -> bytes:
    return attribute(kind, struct.pack("=I", value))


def nested(kind: int, *children: bytes) -> bytes:
    return attribute(kind | NLA_F_NESTED, b"".join(children))


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


class Netlink:
    """A NETLINK_ROUTE socket in the network namespace it was opened in."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.sequence = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, kind: int, flags: int, body: bytes) -> None:
        """Send one request and wait for its ack; raise OSError(errno) on a refusal."""
        self.sequence += 1
        message = _HEADER.pack(_HEADER.size + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK,
                               self.sequence, 0) + body
        self.sock.send(message)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, reply_kind, _flags, sequence, _pid = _HEADER.unpack_from(data, offset)
                if reply_kind == NLMSG_ERROR and sequence == self.sequence:
                    (error,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    if error:
                        raise OSError(-error, os.strerror(-error))
                    return
                offset += (length + 3) & ~3

    # --- links ------------------------------------------------------------------

    def create_bridge(self, name: str, mtu: int = 1500) -> None:
        """A Linux bridge, down; EEXIST when it is there already."""
        body = (ifinfo() + string(IFLA_IFNAME, name) + u32(IFLA_MTU, mtu)
                + nested(IFLA_LINKINFO, string(IFLA_INFO_KIND, "bridge")))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def create_veth(self, host_name: str, peer_name: str, netns_fd: int, peer_mac: str, master: int,
                    mtu: int = 1500) -> None:
        """A veth pair in one request: `host_name` here, up, enslaved to `master`;
        `peer_name` (with `peer_mac`) created directly in the namespace `netns_fd`."""
        peer = (ifinfo() + string(IFLA_IFNAME, peer_name) + attribute(IFLA_ADDRESS, mac_bytes(peer_mac))
                + u32(IFLA_MTU, mtu) + u32(IFLA_NET_NS_FD, netns_fd))
        body = (ifinfo(flags=IFF_UP, change=IFF_UP) + string(IFLA_IFNAME, host_name) + u32(IFLA_MTU, mtu)
                + u32(IFLA_MASTER, master)
                + nested(IFLA_LINKINFO, string(IFLA_INFO_KIND, "veth"),
                         nested(IFLA_INFO_DATA, nested(VETH_INFO_PEER, peer))))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def set_up(self, index: int) -> None:
        self.request(RTM_NEWLINK, 0, ifinfo(index, IFF_UP, IFF_UP))

    def delete_link(self, name: str) -> None:
        """Remove a link by name (ENODEV when it is not there)."""
        self.request(RTM_DELLINK, 0, ifinfo() + string(IFLA_IFNAME, name))

    # --- addresses and routes -----------------------------------------------------

    def add_address(self, index: int, address: str, prefix_len: int) -> None:
        """An IPv4 address with its broadcast; EEXIST when present."""
        local = socket.inet_aton(address)
        host_bits = (1 << (32 - prefix_len)) - 1
        broadcast = struct.pack("!I", struct.unpack("!I", local)[0] | host_bits)
        body = (_IFADDR.pack(socket.AF_INET, prefix_len, 0, RT_SCOPE_UNIVERSE, index)
                + attribute(IFA_LOCAL, local) + attribute(IFA_ADDRESS, local)
                + attribute(IFA_BROADCAST, broadcast))
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_address6(self, index: int, address: str, prefix_len: int) -> None:
        """An IPv6 address, without duplicate address detection (usable at
        once, as Docker's); EEXIST when present."""
        local = socket.inet_pton(socket.AF_INET6, address)
        body = (_IFADDR.pack(socket.AF_INET6, prefix_len, IFA_F_NODAD, RT_SCOPE_UNIVERSE, index)
                + attribute(IFA_ADDRESS, local) + u32(IFA_FLAGS, IFA_F_NODAD))
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)

    def add_default_route(self, gateway: str, index: int) -> None:
        """The default route via `gateway` (IPv4 or IPv6) out of `index`."""
        family = socket.AF_INET6 if ":" in gateway else socket.AF_INET
        body = (_RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
                + attribute(RTA_GATEWAY, socket.inet_pton(family, gateway)) + u32(RTA_OIF, index))
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body)


def open_inside(netns_fd: int, names=()) -> tuple["Netlink", list[int]]:
    """A Netlink socket opened inside the namespace `netns_fd`, and the indexes
    of the interfaces `names` there; the calling thread joins the namespace
    only for that moment."""
    from hakobune._sys import CLONE_NEWNET, setns

    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(netns_fd, CLONE_NEWNET)
        try:
            return Netlink(), [socket.if_nametoindex(name) for name in names]
        finally:
            setns(own, CLONE_NEWNET)
    finally:
        os.close(own)
