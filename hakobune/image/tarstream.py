"""A strict, streaming reader of tar archives as layer tarballs use them.

Reads ustar, GNU (long names and links, base-256 numbers) and pax (path,
linkpath, size, uid, gid, mtime, atime, SCHILY.xattr.*) headers from a
forward-only stream, and hands each entry's data to the caller in large
pieces.  Names stay bytes, exactly as in the archive.

Why not the standard library's tarfile: in stream mode tarfile treats a
corrupt header in the middle of an archive as its end (a truncated layer
would unpack "successfully"), keeps every header it has read in memory, and
is slower (see bench/layer_extract.py).  Like Go's archive/tar (Docker's),
this reader ends at a zero block, refuses a bad checksum, a short read or a
malformed pax record, ignores pax global headers, and treats the size of
header-only entries (links, directories, devices, fifos) as zero.  Sparse
files are refused.
"""

from dataclasses import dataclass, field

from hakobune.errors import InvalidArgument

BLOCK = 512
CHUNK = 1 << 20
MAX_SPECIAL_SIZE = 1 << 20  # pax and GNU long-name headers, as Go's reader limits them

FILE, HARDLINK, SYMLINK, CHAR, BLOCK_DEVICE, DIRECTORY, FIFO = (
    "file", "hardlink", "symlink", "char", "block", "directory", "fifo")
_KINDS = {b"0": FILE, b"\0": FILE, b"7": FILE, b"1": HARDLINK, b"2": SYMLINK, b"3": CHAR,
          b"4": BLOCK_DEVICE, b"5": DIRECTORY, b"6": FIFO}
_HEADER_ONLY = frozenset({HARDLINK, SYMLINK, CHAR, BLOCK_DEVICE, DIRECTORY, FIFO})
_ZERO_BLOCK = bytes(BLOCK)


@dataclass(slots=True)
class TarEntry:
    name: bytes
    kind: str
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    atime_ns: int | None = None
    linkname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict = field(default_factory=dict)


class TarReader:
    """Iterate the entries; `copy_data(write)` gives the current entry's data
    to `write` (data not copied is skipped when the next entry is read)."""

    def __init__(self, stream):
        self._input = _Input(stream)
        self._unread = 0  # data and padding of the current entry still in the stream
        self._remaining = 0
        self.entries = 0

    def __iter__(self):
        return self

    def __next__(self) -> TarEntry:
        entry = self.next_entry()
        if entry is None:
            raise StopIteration
        return entry

    def next_entry(self) -> TarEntry | None:
        self._input.skip(self._unread)
        pax: dict[bytes, bytes] = {}
        long_name = long_link = None
        while True:
            header = self._input.take_block_or_eof()
            if header is None or header == _ZERO_BLOCK:
                return None
            _check_checksum(header)
            typeflag = header[156:157]
            if typeflag in (b"x", b"g", b"L", b"K"):
                size = _header_size(header)
                if size > MAX_SPECIAL_SIZE:
                    raise InvalidArgument(f"layer tarball: a {size}-byte pax or long-name header "
                                          f"(at most {MAX_SPECIAL_SIZE} are accepted)")
                data = self._input.take(_padded(size))[:size]
                if typeflag == b"x":
                    pax.update(_pax_records(data))
                elif typeflag == b"L":
                    long_name = data.rstrip(b"\0")
                elif typeflag == b"K":
                    long_link = data.rstrip(b"\0")
                continue  # a pax global header ("g") is ignored, as Go's reader does
            entry = _entry(header, pax, long_name, long_link)
            self.entries += 1
            self._remaining = entry.size
            self._unread = _padded(entry.size)
            return entry

    def copy_data(self, write) -> None:
        """Give the current entry's data to `write` in pieces of up to 1 MiB."""
        self._input.pipe(self._remaining, write)
        self._input.skip(self._unread - self._remaining)
        self._remaining = self._unread = 0


class _Input:
    """A forward-only stream read in large pieces, served in any size."""

    def __init__(self, stream):
        self.stream = stream
        self.buffer = b""
        self.position = 0

    def take_block_or_eof(self) -> bytes | None:
        if self.position == len(self.buffer) and not self._fill():
            return None  # Go's reader also accepts an archive without end blocks
        return self.take(BLOCK)

    def take(self, size: int) -> bytes:
        end = self.position + size
        if end <= len(self.buffer):
            data = self.buffer[self.position:end]
            self.position = end
            return data
        parts = []
        self.pipe(size, parts.append)
        return b"".join(parts)

    def skip(self, size: int) -> None:
        self.pipe(size, lambda _: None)

    def pipe(self, size: int, write) -> None:
        while size > 0:
            if self.position == len(self.buffer) and not self._fill():
                raise InvalidArgument("layer tarball: the archive is truncated")
            end = min(len(self.buffer), self.position + size)
            view = memoryview(self.buffer)[self.position:end]
            size -= len(view)
            self.position = end
            write(view)

    def _fill(self) -> bool:
        self.buffer = self.stream.read(CHUNK)
        self.position = 0
        return bool(self.buffer)


def _entry(header: bytes, pax: dict, long_name: bytes | None, long_link: bytes | None) -> TarEntry:
    typeflag = header[156:157]
    name = _field(header[0:100])
    if header[257:263] == b"ustar\x00" and header[345:346] != b"\0":
        name = _field(header[345:500]) + b"/" + name
    name = pax.get(b"path", long_name or name)
    kind = _KINDS.get(typeflag)
    if kind is None:
        raise InvalidArgument(f"layer tarball: entry {_show(name)} has the unsupported type {typeflag!r}")
    if kind == FILE and name.endswith(b"/"):
        kind = DIRECTORY  # old tars mark directories by the trailing slash only
    if typeflag == b"S" or any(key.startswith(b"GNU.sparse.") for key in pax):
        raise InvalidArgument(f"layer tarball: entry {_show(name)} is a sparse file, which is not supported")
    size = 0 if kind in _HEADER_ONLY else _pax_int(pax, b"size", header[124:136], name)
    return TarEntry(
        name=name, kind=kind, mode=_number(header[100:108], name) & 0o7777,
        uid=_pax_int(pax, b"uid", header[108:116], name), gid=_pax_int(pax, b"gid", header[116:124], name),
        size=size, mtime_ns=_pax_time(pax.get(b"mtime"), name) if b"mtime" in pax else
        _number(header[136:148], name) * 1_000_000_000,
        atime_ns=_pax_time(pax[b"atime"], name) if b"atime" in pax else None,
        linkname=pax.get(b"linkpath", long_link or _field(header[157:257])),
        devmajor=_number(header[329:337], name), devminor=_number(header[337:345], name),
        xattrs={key[13:].decode("utf-8", "surrogateescape"): value
                for key, value in pax.items() if key.startswith(b"SCHILY.xattr.")})


def _check_checksum(header: bytes) -> None:
    try:
        stored = _number(header[148:156], b"")
    except InvalidArgument:
        stored = -1
    unsigned = sum(header[:148]) + 256 + sum(header[156:])
    if stored != unsigned and stored != unsigned - 256 * sum(1 for b in header if b > 127):
        raise InvalidArgument("layer tarball: a header's checksum is wrong (a corrupt archive or not a tar)")


def _number(raw: bytes, name: bytes) -> int:
    if raw and raw[0] & 0x80:  # GNU base-256
        value = int.from_bytes(bytes([raw[0] & 0x7F]) + raw[1:], "big")
        return value - (1 << (8 * len(raw) - 1)) if raw[0] & 0x40 else value
    text = raw.split(b"\0", 1)[0].strip(b" ")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise InvalidArgument(f"layer tarball: entry {_show(name)} has a malformed number {raw!r}") from None


def _pax_int(pax: dict, key: bytes, raw: bytes, name: bytes) -> int:
    if key not in pax:
        return _number(raw, name)
    value = pax[key]
    if not value.isdigit():
        raise InvalidArgument(f"layer tarball: entry {_show(name)} has a malformed pax {key.decode()} {value!r}")
    return int(value)


def _pax_time(value: bytes, name: bytes) -> int:
    """Nanoseconds of a pax time ("1700000000.123456789"), without float rounding."""
    sign = -1 if value.startswith(b"-") else 1
    seconds, _, fraction = value.lstrip(b"-").partition(b".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise InvalidArgument(f"layer tarball: entry {_show(name)} has a malformed pax time {value!r}")
    return sign * (int(seconds) * 1_000_000_000 + int((fraction + b"000000000")[:9]))


def _pax_records(data: bytes) -> dict[bytes, bytes]:
    records = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        length = data[position:space]
        if space < 0 or not length.isdigit() or int(length) <= space - position:
            raise InvalidArgument("layer tarball: a malformed pax header")
        record = data[space + 1:position + int(length)]
        key, equals, value = record.partition(b"=")
        if not equals or not record.endswith(b"\n"):
            raise InvalidArgument("layer tarball: a malformed pax header record")
        if value[:-1] or key.startswith(b"SCHILY.xattr."):
            records[key] = value[:-1]
        position += int(length)
    return records


def _header_size(header: bytes) -> int:
    return _number(header[124:136], b"")


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def _field(raw: bytes) -> bytes:
    return raw.split(b"\0", 1)[0]


def _show(name: bytes) -> str:
    return repr(name.decode("utf-8", "backslashreplace"))
