"""Layer tarballs' compression, recognised by the stream's first bytes (as
Docker does, whatever the media type claims): gzip, zstd, bzip2, xz or a
plain tar.  `open_uncompressed` gives a reader of the tar; `HashingReader`
hashes what passes through it, which is how a layer's diff id (sha256 of the
uncompressed tar) is computed in the same pass that unpacks it.

zstd needs the `zstandard` package, imported only when a zstd layer comes.
Corrupt compressed data ends in InvalidArgument.
"""

import hashlib

from hakobune.errors import InvalidArgument

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_LONGEST_MAGIC = 6


def detect_compression(head: bytes) -> str:
    """"gzip", "zstd", "bzip2", "xz", or "" (no compression) from the first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return ""


class _Prefixed:
    """A reader that returns `prefix` before the rest of `stream`."""

    def __init__(self, prefix: bytes, stream):
        self.prefix = prefix
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.stream.read(size)
        if size is None or size < 0:
            data, self.prefix = self.prefix + self.stream.read(), b""
            return data
        data, self.prefix = self.prefix[:size], self.prefix[size:]
        if len(data) < size:
            data += self.stream.read(size - len(data))
        return data

    def readable(self) -> bool:
        return True


def open_uncompressed(stream) -> tuple[object, str]:
    """(reader of the uncompressed bytes, compression name)."""
    head = b""
    while len(head) < _LONGEST_MAGIC:
        chunk = stream.read(_LONGEST_MAGIC - len(head))
        if not chunk:
            break
        head += chunk
    compression = detect_compression(head)
    source = _Prefixed(head, stream)
    return _Checked(_decompressor(compression, source), compression), compression


def _decompressor(compression: str, source):
    if compression == "gzip":
        import gzip
        return gzip.GzipFile(fileobj=source, mode="rb")
    if compression == "zstd":
        return _ZstdReader(source)
    if compression == "bzip2":
        import bz2
        return bz2.BZ2File(source, mode="rb")
    if compression == "xz":
        import lzma
        return lzma.LZMAFile(source, mode="rb")
    return source


class _ZstdReader:
    """zstandard's stream reader, which ends quietly where its input ends, even
    in the middle of a frame; the frames are followed here to tell a complete
    stream from a truncated one."""

    def __init__(self, source):
        import zstandard  # the PyPI package: the standard library has no zstd before 3.14

        self.frames = _ZstdFrames()
        self.reader = zstandard.ZstdDecompressor().stream_reader(
            _Observed(source, self.frames.feed), read_across_frames=True, closefd=False)

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        if not data and not self.frames.complete:
            raise InvalidArgument("layer tarball: the zstd data is truncated")
        return data


class _Observed:
    """Shows every piece read from `stream` to `observer`."""

    def __init__(self, stream, observer):
        self.stream = stream
        self.observer = observer

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.observer(data)
        return data

    def readable(self) -> bool:
        return True


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE_MAGIC_TAIL = b"\x2a\x4d\x18"  # 0x184D2A5?, little-endian


class _ZstdFrames:
    """Follows the structure of zstd frames (RFC 8878: headers, block headers,
    checksums, skippable frames) without decompressing; `complete` when the
    bytes seen so far end at a frame boundary."""

    def __init__(self):
        self.pending = bytearray()
        self.skip = 0
        self.step, self.need = self._magic, 4
        self.checksum = False

    @property
    def complete(self) -> bool:
        return self.step == self._magic and not self.pending and not self.skip

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.skip:
                skipped = min(self.skip, len(view))
                self.skip -= skipped
                view = view[skipped:]
                continue
            taken = min(self.need - len(self.pending), len(view))
            self.pending += view[:taken]
            view = view[taken:]
            if len(self.pending) == self.need:
                field = bytes(self.pending)
                self.pending.clear()
                self.step(field)

    def _magic(self, field: bytes) -> None:
        if field == _ZSTD_MAGIC:
            self.step, self.need = self._descriptor, 1
        elif field[1:] == _SKIPPABLE_MAGIC_TAIL and field[0] & 0xF0 == 0x50:
            self.step, self.need = self._skippable_size, 4
        else:
            raise InvalidArgument("layer tarball: corrupt zstd data (no frame where one should start)")

    def _descriptor(self, field: bytes) -> None:
        descriptor = field[0]
        single_segment = descriptor & 0x20
        content_size_bytes = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
        dictionary_bytes = (0, 1, 2, 4)[descriptor & 0x03]
        self.checksum = bool(descriptor & 0x04)
        rest = (0 if single_segment else 1) + dictionary_bytes + content_size_bytes
        if rest:
            self.step, self.need = self._header_rest, rest
        else:
            self.step, self.need = self._block, 3

    def _header_rest(self, field: bytes) -> None:
        self.step, self.need = self._block, 3

    def _block(self, field: bytes) -> None:
        header = int.from_bytes(field, "little")
        kind, size = (header >> 1) & 0x03, header >> 3
        if kind == 3:
            raise InvalidArgument("layer tarball: corrupt zstd data (a reserved block type)")
        self.skip = 1 if kind == 1 else size
        if header & 0x01:  # the frame's last block
            self.step, self.need = (self._checksum, 4) if self.checksum else (self._magic, 4)

    def _checksum(self, field: bytes) -> None:
        self.step, self.need = self._magic, 4

    def _skippable_size(self, field: bytes) -> None:
        self.skip = int.from_bytes(field, "little")
        self.step, self.need = self._magic, 4


class _Checked:
    """Turns a decompressor's own errors into InvalidArgument."""

    def __init__(self, reader, compression: str):
        self.reader = reader
        self.compression = compression

    def read(self, size: int = -1) -> bytes:
        try:
            return self.reader.read(size)
        except InvalidArgument:
            raise
        except Exception as e:  # gzip.BadGzipFile, zlib.error, EOFError, zstandard.ZstdError, lzma.LZMAError…
            if not self.compression or _is_source_error(e):
                raise
            raise InvalidArgument(f"layer tarball: corrupt {self.compression} data: {e}") from None


def _is_source_error(error: Exception) -> bool:
    """An OSError of the underlying file (it has an errno), not of the decompressor."""
    return isinstance(error, OSError) and error.errno is not None


class HashingReader:
    """Hashes (sha256) and counts every byte read through it."""

    def __init__(self, stream):
        self.stream = stream
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.hasher.update(data)
        self.size += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end: whatever follows the tar's end marker counts too."""
        while self.read(chunk):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()
