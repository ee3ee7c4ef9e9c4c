"""The build context and the sources of COPY and ADD.

- `SourceTree`: a directory that sources are taken from, the build context
  (with its .dockerignore, `ignore.PatternMatcher`) or the root of an earlier
  stage or an image (COPY --from).  Paths are resolved inside the tree by
  the kernel (openat2 RESOLVE_IN_ROOT), so ``..`` and symlinks never lead out
  of it; a context source written ``../x`` is refused as Docker refuses it.
  Globs (``*``, ``?``, ``[...]``, matched component by component as Go's
  filepath.Match) expand to the entries they match, excluded ones left out.
- `plan_copy`: Docker's destination rules: a destination ending in ``/`` (or
  several sources) is a directory; a directory source copies its contents;
  a file copied onto an existing directory goes inside it; a relative
  destination is relative to WORKDIR.
- `write_copy_tar`: the files to copy as a tar placed at their destinations
  (ownership and modes as COPY sets them); the builder unpacks it with the
  hardened unpacker (`image.tarlayer`) into the step's root.
- `content_digest`: what the layer cache compares: every copied entry's
  path, type, mode, owner (when kept), size, data and link target, not its
  times (as the classic builder).
- `unpack_context_tar`: a context sent as a tar (``build -``), unpacked with
  the hardened unpacker.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat

from hakobune.build.errors import BuildError

_GLOB_CHARS = frozenset("*?[\\")
_HASH_CHUNK = 1 << 20


class CopyEntry:
    """One entry to write: `destination` (absolute in the image), the source's
    host path (None for a directory made for the copy), its lstat."""

    __slots__ = ("destination", "host_path", "info", "relative")

    def __init__(self, destination: str, host_path: str | None, info: os.stat_result | None, relative: str):
        self.destination = destination
        self.host_path = host_path
        self.info = info
        self.relative = relative


class SourceTree:
    """A tree sources are read from; `matcher` excludes context paths."""

    def __init__(self, root: str, matcher=None, is_context: bool = True):
        self.root = os.path.realpath(root)
        self.matcher = matcher if matcher is not None and matcher.patterns else None
        self.is_context = is_context

    # --- names -------------------------------------------------------------------

    def clean(self, source: str) -> str:
        """`source` relative to the tree's top ("" for the top); BuildError when
        a context source climbs out of it."""
        cleaned = posixpath.normpath("/" + source).lstrip("/") if source else ""
        raw = posixpath.normpath(source) if source else "."
        if self.is_context and (raw == ".." or raw.startswith("../")):
            raise BuildError(f"forbidden path outside the build context: {source} ()")
        return "" if cleaned == "." else cleaned

    def excluded(self, relative: str) -> bool:
        return bool(self.matcher and relative and self.matcher.matches(relative))

    def host_path(self, relative: str) -> str | None:
        """The host path of `relative` (symlinks resolved inside the tree), None if missing."""
        from hakobune import _sys as S

        if not relative:
            return self.root
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = S.openat2(root_fd, relative, os.O_PATH | os.O_CLOEXEC,
                           S.RESOLVE_IN_ROOT | S.RESOLVE_NO_MAGICLINKS)
        except OSError:
            return None
        finally:
            os.close(root_fd)
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def expand(self, source: str) -> list[str]:
        """The relative paths `source` names (a glob: every match, sorted)."""
        relative = self.clean(source)
        if not any(ch in _GLOB_CHARS for ch in relative):
            if self.excluded(relative) or self.host_path(relative) is None:
                raise BuildError("file not found in build context or excluded by .dockerignore: "
                                 f"stat {relative or '.'}: file does not exist")
            return [relative]
        matches = [""]
        for part in relative.split("/"):
            matches = [match for parent in matches for match in self._matching(parent, part)]
        matches = [m for m in matches if not self.excluded(m)]
        if not matches:
            raise BuildError("no source files were specified")
        return sorted(matches)

    def _matching(self, parent: str, part: str) -> list[str]:
        if not any(ch in _GLOB_CHARS for ch in part):
            child = f"{parent}/{part}" if parent else part
            return [child] if self.host_path(child) is not None else []
        directory = self.host_path(parent)
        if directory is None or not os.path.isdir(directory):
            return []
        pattern = _go_glob(part)
        return [f"{parent}/{name}" if parent else name for name in sorted(os.listdir(directory))
                if fnmatch.fnmatchcase(name, pattern)]

    # --- walking -------------------------------------------------------------------

    def walk(self, relative: str):
        """(path below `relative`, host path, lstat) of `relative`'s contents,
        directories before what they hold, symlinks not followed, excluded
        entries (and excluded directories without re-included content) skipped."""
        top = self.host_path(relative)
        yield from self._walk(top, relative, "")

    def _walk(self, directory: str, relative: str, below: str):
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            inner = f"{below}/{entry.name}" if below else entry.name
            info = entry.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(info.st_mode)
            if self.excluded(path):
                if is_dir and self.matcher.exclusions and self.matcher.may_reinclude_below(path):
                    yield from self._walk(entry.path, path, inner)
                continue
            yield inner, entry.path, info
            if is_dir:
                yield from self._walk(entry.path, path, inner)


def _go_glob(part: str) -> str:
    """A Go filepath.Match pattern as an fnmatch pattern (one path component)."""
    out = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "\\" and i + 1 < len(part):
            out.append("[" + part[i + 1] + "]")
            i += 2
            continue
        if ch == "[" and part[i + 1:i + 2] == "^":
            out.append("[!")
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# --- destinations ---------------------------------------------------------------------

def destination_path(dest: str, workdir: str) -> tuple[str, bool]:
    """(absolute destination, whether it names a directory) of COPY's last argument."""
    is_dir = dest.endswith("/") or dest in (".", "") or dest.endswith("/.")
    if not dest.startswith("/"):
        dest = posixpath.join(workdir or "/", dest)
    return posixpath.normpath(dest) if dest != "/" else "/", is_dir


def plan_copy(tree: SourceTree, sources: list[str], dest: str, dest_is_dir: bool, dest_exists_as_dir) -> list[CopyEntry]:
    """The entries a COPY writes for the expanded `sources`.
    `dest_exists_as_dir(path)` tells whether the image has a directory there."""
    if len(sources) > 1 and not dest_is_dir:
        raise BuildError("When using COPY with more than one source file, the destination must be a "
                         "directory and end with a /")
    entries: list[CopyEntry] = []
    for relative in sources:
        host = tree.host_path(relative)
        info = os.stat(host)
        if stat.S_ISDIR(info.st_mode):
            if not dest_is_dir and not dest_exists_as_dir(dest):
                entries.append(CopyEntry(dest, host, info, relative))
            for inner, path, child_info in tree.walk(relative):
                entries.append(CopyEntry(posixpath.join(dest, inner), path, child_info, inner))
            continue
        if dest_is_dir or dest_exists_as_dir(dest):
            target = posixpath.join(dest, posixpath.basename(relative) or posixpath.basename(host))
        else:
            target = dest
        entries.append(CopyEntry(target, host, info, posixpath.basename(relative)))
    return entries


def parent_directories(merged: str, entries: list[CopyEntry]) -> list[CopyEntry] | None:
    """The directories above `entries`' destinations that are not entries
    themselves, as a layer records them (an existing one with the image's
    metadata, a new one 0755 root:root); None when one of them is not a plain
    directory in the image (a symlink: the copy must then be resolved in the
    mounted root)."""
    destinations = {entry.destination for entry in entries}
    parents: dict[str, os.stat_result | None] = {}
    for entry in entries:
        path = posixpath.dirname(entry.destination)
        chain = []
        while path not in ("/", "") and path not in parents:
            chain.append(path)
            path = posixpath.dirname(path)
        for directory in reversed(chain):
            try:
                info = os.lstat(merged + directory)
            except FileNotFoundError:
                info = None
            except NotADirectoryError:
                return None
            if info is not None and not stat.S_ISDIR(info.st_mode):
                return None
            parents[directory] = info
    return [CopyEntry(path, None, info, "") for path, info in sorted(parents.items())
            if path not in destinations]


def in_layer_order(entries: list[CopyEntry]) -> list[CopyEntry]:
    """`entries` as `difftar.pack_layer` would write the tree they make: one
    entry per destination (the last written wins), in byte order of the
    path's components, each directory before its content, so that the tar
    is the one packing the unpacked layer again gives (save and push pack
    built layers again)."""
    last = {entry.destination: entry for entry in entries}
    return sorted(last.values(), key=lambda entry: [os.fsencode(part) for part in
                                                     entry.destination.strip("/").split("/")])


def write_copy_tar(entries: list[CopyEntry], out, owner: tuple[int, int] | None, chmod: int | None,
                   keep_owner: bool) -> None:
    """The tar of `entries` at their destinations: owner `owner` (else 0:0, or the
    source's own when `keep_owner`), mode `chmod` when given.  Entries without
    a host path are parent directories, kept as they are (or made 0755,
    owned by `owner` or root)."""
    import tarfile

    from hakobune.image.tarwrite import add_entry  # tarfile's bytes, faster for thousands of small files

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if entry.host_path is None:
                add_entry(tar, _parent_member(entry, owner))
                continue
            info = entry.info
            member = tarfile.TarInfo(entry.destination.lstrip("/") or ".")
            member.mtime = int(info.st_mtime)
            member.mode = (chmod if chmod is not None else stat.S_IMODE(info.st_mode))
            if owner is not None:
                member.uid, member.gid = owner
            elif keep_owner:
                member.uid, member.gid = info.st_uid, info.st_gid
            member.uname = member.gname = ""
            if stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
                add_entry(tar, member)
            elif stat.S_ISLNK(info.st_mode):
                member.type = tarfile.SYMTYPE
                member.linkname = os.readlink(entry.host_path)
                member.mode = stat.S_IMODE(info.st_mode)
                add_entry(tar, member)
            elif stat.S_ISREG(info.st_mode):
                member.size = info.st_size
                with open(entry.host_path, "rb") as data:
                    add_entry(tar, member, data)


def _parent_member(entry: CopyEntry, owner: tuple[int, int] | None):
    """A directory above what is copied: as it is in the image, or a new one
    0755 owned by --chown's owner (root without), as Docker makes them."""
    import tarfile
    import time

    member = tarfile.TarInfo(entry.destination.lstrip("/"))
    member.type = tarfile.DIRTYPE
    info = entry.info
    if info is None:
        member.mode, member.mtime = 0o755, int(time.time())
        if owner is not None:
            member.uid, member.gid = owner
    else:
        member.mode, member.mtime = stat.S_IMODE(info.st_mode), int(info.st_mtime)
        member.uid, member.gid = info.st_uid, info.st_gid
    member.uname = member.gname = ""
    return member


def content_digest(entries: list[CopyEntry], keep_owner: bool) -> str:
    """sha256 over what COPY writes, times left out."""
    digest = hashlib.sha256()
    for entry in entries:
        info = entry.info
        digest.update(f"{entry.destination}\0{stat.S_IFMT(info.st_mode)}\0{stat.S_IMODE(info.st_mode)}\0".encode())
        if keep_owner:
            digest.update(f"{info.st_uid}:{info.st_gid}\0".encode())
        if stat.S_ISLNK(info.st_mode):
            digest.update(os.fsencode(os.readlink(entry.host_path)))
        elif stat.S_ISREG(info.st_mode):
            digest.update(f"{info.st_size}\0".encode())
            digest.update(file_digest(entry.host_path).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- archives -------------------------------------------------------------------------

def is_archive(path: str) -> bool:
    """Whether ADD unpacks the file: a tar, plain or compressed (gzip, bzip2, xz, zstd)."""
    from hakobune.image.compression import open_uncompressed

    try:
        with open(path, "rb") as f:
            reader, _ = open_uncompressed(f)
            header = _read_exactly(reader, 512)
    except Exception:  # noqa: BLE001 - anything unreadable is no archive
        return False
    if len(header) < 512:
        return False
    if header[257:262] == b"ustar":
        return True
    try:
        recorded = int(header[148:156].strip(b"\0 ") or b"-1", 8)
    except ValueError:
        return False
    return recorded == sum(header[:148]) + 8 * 32 + sum(header[156:])


def _read_exactly(reader, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = reader.read(size - len(data))
        if not piece:
            break
        data += piece
    return data


def unpack_context_tar(stream, target: str) -> None:
    """A context sent as a tar (plain or compressed), unpacked into `target`."""
    from hakobune.image.tarlayer import apply_layer

    apply_layer(stream, target, for_overlay=False)
