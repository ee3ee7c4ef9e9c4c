"""A container's /etc/hosts, as Docker writes it.

    parse_extra_host("name:ip" | "name=ip") -> (name, ip)   # --add-host, Docker's checks
    container_hosts(hostname, addresses, ...) -> str
    add_entries(text, addresses, names), remove_entries(...)   # network connect / disconnect

Docker's layout: the localhost lines (the IPv6 ones only when the container
has IPv6, as Docker 26+), then the --add-host entries in the order given
(`host-gateway` replaced by the host's gateway address(es) the caller
passes), then one line per address of the container with its hostname
(`hostname.domain hostname` when a domain name is set).  With
`--network host` the host's own /etc/hosts is the base instead.
"""

from hakobune.errors import InvalidArgument

HOST_GATEWAY = "host-gateway"

_LOCALHOST4 = "127.0.0.1\tlocalhost\n"
_LOCALHOST6 = ("::1\tlocalhost ip6-localhost ip6-loopback\n"
               "fe00::0\tip6-localnet\n"
               "ff00::0\tip6-mcastprefix\n"
               "ff02::1\tip6-allnodes\n"
               "ff02::2\tip6-allrouters\n")


def _valid_address(value: str) -> bool:
    import socket

    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
            return True
        except OSError:
            continue
    return False


def parse_extra_host(value: str) -> tuple[str, str]:
    """An --add-host value as (name, address-or-'host-gateway'), with the
    messages of Docker's CLI.  `name=ip` and `name:ip` are accepted, an
    address may be in brackets ([::1])."""
    name, sep, address = value.partition("=")
    if not sep:
        name, sep, address = value.partition(":")
    if not sep or not name or ":" in name:
        raise InvalidArgument(f'invalid argument "{value}" for "--add-host" flag: bad format for add-host: "{value}"')
    if address != HOST_GATEWAY:
        if len(address) > 2 and address[0] == "[" and address[-1] == "]":
            address = address[1:-1]
        if not _valid_address(address):
            raise InvalidArgument(f'invalid argument "{value}" for "--add-host" flag: '
                                  f'invalid IP address in add-host: "{address}"')
    return name, address


def container_hosts(hostname: str, addresses=(), extra_hosts=(), domainname: str = "", ipv6: bool = True,
                    host_gateway=(), base: str | None = None) -> str:
    """The content of a container's /etc/hosts.

    addresses: the container's own addresses (one line each, none with
    --network none/host); extra_hosts: (name, address) pairs from
    --add-host, where address may be "host-gateway"; host_gateway: the
    address(es) that stands for; base: the text to start from instead of the
    localhost lines (the host's /etc/hosts with --network host)."""
    if base is not None:
        text = base if not base or base.endswith("\n") else base + "\n"
    else:
        text = _LOCALHOST4 + (_LOCALHOST6 if ipv6 else "")
    for name, address in extra_hosts:
        if address == HOST_GATEWAY:
            if not host_gateway:
                raise InvalidArgument("unable to derive the IP value for host-gateway")
            text += "".join(f"{gateway}\t{name}\n" for gateway in host_gateway)
        else:
            text += f"{address}\t{name}\n"
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    for address in addresses:
        text += f"{address}\t{names}\n"
    return text


def _entry(line: str) -> tuple[str, str]:
    """(address, names) of a hosts line, names as one space-separated string."""
    fields = line.split()
    return (fields[0], " ".join(fields[1:])) if fields else ("", "")


def add_entries(text: str, addresses, names: str) -> str:
    """`text` with a line `address<TAB>names` for each of `addresses` not yet there."""
    present = {_entry(line) for line in text.splitlines()}
    if text and not text.endswith("\n"):
        text += "\n"
    for address in addresses:
        if (address, names) not in present:
            text += f"{address}\t{names}\n"
    return text


def remove_entries(text: str, addresses, names: str) -> str:
    """`text` without the lines `address<TAB>names` of `addresses` (other
    lines for those addresses, such as --add-host's, are kept)."""
    wanted = {(address, names) for address in addresses}
    return "".join(line for line in text.splitlines(keepends=True) if _entry(line) not in wanted)
