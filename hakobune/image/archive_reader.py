"""An image archive (a tar, possibly compressed) copied to a scratch directory
and looked up by member name, before anything of it reaches the stores.

Every format puts its index (manifest.json, index.json) where it likes,
often at the end, and archives arrive on pipes; so the whole archive is
first spooled, each regular member to its own file, hashed with sha256 on
the way.  Members named ``blobs/sha256/<hex>`` are checked against their
names right there.

Safety: a member name that is absolute or climbs with ``..`` is refused, as
is a symbolic or hard link whose target leaves the archive; links are
followed by name inside the archive only (never on the file system), at
most `MAX_LINKS` deep.  Devices, fifos and the like are refused.  The outer
tar is read by the strict `tarstream.TarReader`, so a truncated or corrupt
archive fails instead of looking shorter.
"""

import os
import posixpath
import re
from typing import NamedTuple

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.image._fsutil import write_all
from hakobune.image.compression import open_uncompressed
from hakobune.image.tarstream import DIRECTORY, FILE, HARDLINK, SYMLINK, TarReader
from hakobune.oci.digest import new_hasher

MAX_LINKS = 16
MAX_DOCUMENT = 64 << 20  # manifest.json, index.json, configs, manifests
_SHA256_BLOB = re.compile(r"blobs/sha256/([0-9a-f]{64})")


class Member(NamedTuple):
    name: str
    path: str     # the spooled copy
    size: int
    sha256: str   # "sha256:<hex>" of its content


class SpooledArchive:
    def __init__(self, directory: str):
        self.directory = directory
        self.files: dict[str, Member] = {}
        self.links: dict[str, str] = {}  # link name → target name (both cleaned, archive-relative)

    def spool(self, stream) -> None:
        reader, _ = open_uncompressed(stream)
        tar = TarReader(reader)
        for entry in tar:
            name = clean_member_name(entry.name)
            if not name:
                continue
            if entry.kind == FILE:
                self.files[name] = self._copy(name, tar)
                self.links.pop(name, None)
            elif entry.kind in (SYMLINK, HARDLINK):
                self.links[name] = _link_target(name, entry, entry.kind == SYMLINK)
                self.files.pop(name, None)
            elif entry.kind != DIRECTORY:
                raise InvalidArgument(f"image archive: member {name!r} is a {entry.kind}, which no image "
                                      "archive has")
        if not self.files:
            raise InvalidArgument("image archive: it is empty")

    def add_file(self, name: str, stream) -> Member:
        """Spool a whole stream (a root file system tar to import) as the member `name`."""
        def copy(write) -> None:
            while chunk := stream.read(1 << 20):
                write(chunk)
        self.files[name] = self._spool_member(name, copy)
        return self.files[name]

    def _copy(self, name: str, tar: TarReader) -> Member:
        return self._spool_member(name, tar.copy_data)

    def _spool_member(self, name: str, copy) -> Member:
        """`copy(write)` hands the member's bytes to `write`: they are hashed and kept."""
        path = os.path.join(self.directory, f"{len(self.files) + len(self.links)}-{os.urandom(4).hex()}")
        hasher = new_hasher("sha256")
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            def write(piece) -> None:
                nonlocal size
                hasher.update(piece)
                size += len(piece)
                write_all(fd, piece)
            copy(write)
        except OSError as e:
            raise SystemFailure(f"cannot spool the archive's {name}: {e.strerror or e}") from None
        finally:
            os.close(fd)
        member = Member(name, path, size, "sha256:" + hasher.hexdigest())
        claimed = _SHA256_BLOB.fullmatch(name)
        if claimed and claimed[1] != member.sha256[7:]:
            raise InvalidArgument(f"image archive: {name} does not match its digest (its content is "
                                  f"{member.sha256})")
        return member

    # --- lookups -----------------------------------------------------------------

    def exists(self, name: str) -> bool:
        try:
            self.member(name)
            return True
        except InvalidArgument:
            return False

    def member(self, name: str) -> Member:
        """The regular member `name` names, links followed."""
        current = clean_member_name(name.encode()) if isinstance(name, str) else clean_member_name(name)
        for _ in range(MAX_LINKS + 1):
            if current in self.files:
                return self.files[current]
            if current not in self.links:
                raise InvalidArgument(f"image archive: it has no {name!r}")
            current = self.links[current]
        raise InvalidArgument(f"image archive: too many links from {name!r}")

    def read(self, name: str, limit: int = MAX_DOCUMENT) -> bytes:
        member = self.member(name)
        if member.size > limit:
            raise InvalidArgument(f"image archive: {name} has {member.size} bytes, more than a "
                                  f"document may have ({limit})")
        with open(member.path, "rb") as f:
            return f.read()

    def open(self, name_or_member):
        member = name_or_member if isinstance(name_or_member, Member) else self.member(name_or_member)
        return open(member.path, "rb")


def clean_member_name(raw: bytes) -> str:
    """An archive-relative name without "./", "." or trailing "/"; InvalidArgument
    for one that is absolute or climbs out with ".." (or is no UTF-8)."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"image archive: member name {raw!r} is not UTF-8") from None
    if name.startswith("/"):
        raise InvalidArgument(f"image archive: member {name!r} has an absolute name")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"image archive: member {name!r} climbs out of the archive")
    return "/".join(parts)


def _link_target(name: str, entry, symbolic: bool) -> str:
    target = entry.linkname.decode("utf-8", "surrogateescape")
    if target.startswith("/"):
        raise InvalidArgument(f"image archive: link {name!r} points outside the archive ({target!r})")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target) if symbolic else target)
    if joined == ".." or joined.startswith("../"):
        raise InvalidArgument(f"image archive: link {name!r} points outside the archive ({target!r})")
    return clean_member_name(joined.encode())


def layer_digest(archive: SpooledArchive, member: Member) -> tuple[str, str, int]:
    """(sha256 of the uncompressed content, compression, uncompressed size) of a
    layer member: its own hash when it is no compressed stream."""
    with archive.open(member) as f:
        reader, compression = open_uncompressed(f)
        if not compression:
            return member.sha256, compression, member.size
        hasher, size = new_hasher("sha256"), 0
        while chunk := reader.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return "sha256:" + hasher.hexdigest(), compression, size


def verify_layer_content(archive: SpooledArchive, member: Member, diff_id: str) -> tuple[str, int]:
    """(compression, uncompressed size) of a layer member whose uncompressed
    content must hash to `diff_id`; InvalidArgument when it does not."""
    digest, compression, size = layer_digest(archive, member)
    if digest != diff_id:
        raise InvalidArgument(f"image archive: layer {member.name} does not match its diff id: expected "
                              f"{diff_id}, got {digest}")
    return compression, size
