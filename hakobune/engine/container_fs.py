"""A container's file system seen from the host: its read-write layer (the
overlay's upper directory) compared with its image's layers, and its merged
root walked and changed without ever leaving it.

- `changes`: `docker diff`'s list, by the rules of Docker's overlay driver
  (pkg/archive's OverlayChanges): the upper directory walked in lexical
  order; a 0:0 character device is a deleted file, an opaque directory that
  hid a lower one is "deleted" (its new content follows as added); a path
  that a lower layer has is changed, one none has is added; a directory
  whose size, mode and time equal the lower one's is not listed, but a
  parent of an added or deleted path always is;
- `hidden_entries`: what the engine itself put in the upper directory (the
  mount points of /etc/hostname, /etc/hosts and /etc/resolv.conf, and /etc
  when it holds nothing else), which Docker keeps in its "-init" layer:
  neither `diff` nor `commit` sees them;
- `InRoot`: paths resolved inside the merged root with openat2's
  RESOLVE_IN_ROOT, so that a symlink to "/" or "../../.." leads to the
  container's own top, never to the host's; `engine_files_shown` puts the
  engine's hostname, hosts and resolv.conf where cp finds them;
- `write_tree`: a tar of entries of the root, read through descriptors
  (a path's components are never followed out of the root);
- `stat_of`: the X-Docker-Container-Path-Stat document (Go's os.FileMode).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import tarfile

from hakobune.errors import InvalidArgument, NotFound
from hakobune.image.difftar import is_opaque, is_whiteout

MODIFY, ADD, DELETE = 0, 1, 2
KIND_LETTERS = {MODIFY: "C", ADD: "A", DELETE: "D"}
ENGINE_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf")


# --- the read-write layer ------------------------------------------------------------

def hidden_entries(upper: str, lower_dirs: list[str]) -> frozenset[str]:
    """Relative paths of the upper directory that the engine made, not the container."""
    hidden = {name for name in ENGINE_FILES if _lstat(os.path.join(upper, name)) is not None}
    etc = os.path.join(upper, "etc")
    if hidden and not is_opaque(etc):
        leftover = set(os.listdir(etc)) - {posixpath.basename(name) for name in hidden}
        lower = _lower_entry(lower_dirs, "etc")
        upper_info = os.lstat(etc)
        if not leftover and (lower is None or _same_owner_and_mode(lower, upper_info)):
            hidden.add("etc")
    return frozenset(hidden)


def changes(upper: str, lower_dirs: list[str]) -> list[tuple[str, int]]:
    """(path, kind) pairs as Docker's GET /containers/{id}/changes lists them."""
    walk = _ChangeWalk(upper, lower_dirs, hidden_entries(upper, lower_dirs))
    walk.directory("")
    return walk.found


class _ChangeWalk:
    def __init__(self, upper: str, lower_dirs: list[str], hidden: frozenset[str]):
        self.upper = upper
        self.lower_dirs = lower_dirs
        self.hidden = hidden
        self.found: list[tuple[str, int]] = []
        self.changed_dirs: set[str] = set()

    def directory(self, relative: str) -> None:
        for name in sorted(os.listdir(os.path.join(self.upper, relative)), key=os.fsencode):
            child = f"{relative}/{name}" if relative else name
            if child in self.hidden:
                continue
            info = os.lstat(os.path.join(self.upper, child))
            kind = self.kind_of(child, info)
            if kind is not None:
                self.record("/" + child, kind, stat.S_ISDIR(info.st_mode))
            if stat.S_ISDIR(info.st_mode):
                self.directory(child)

    def kind_of(self, relative: str, info: os.stat_result) -> int | None:
        if is_whiteout(info):
            return DELETE
        lower = _lower_entry(self.lower_dirs, relative)
        if stat.S_ISDIR(info.st_mode) and lower is not None and is_opaque(os.path.join(self.upper, relative)):
            return DELETE
        if lower is None:
            return ADD
        if stat.S_ISDIR(info.st_mode) and stat.S_ISDIR(lower.st_mode) and _same_directory(info, lower):
            return None
        return MODIFY

    def record(self, path: str, kind: int, is_directory: bool) -> None:
        if is_directory:
            self.changed_dirs.add(path)
        if kind in (ADD, DELETE):
            parent = posixpath.dirname(path)
            if parent != "/" and parent not in self.changed_dirs:
                self.found.append((parent, MODIFY))
                self.changed_dirs.add(parent)
        self.found.append((path, kind))


def _lower_entry(lower_dirs: list[str], relative: str) -> os.stat_result | None:
    """The lower layers' entry at `relative` (top layer first), None when
    absent or whited out."""
    parent = posixpath.dirname(relative)
    for layer in lower_dirs:
        info = _lstat(os.path.join(layer, relative))
        if info is not None:
            return None if is_whiteout(info) else info
        if parent and is_opaque(os.path.join(layer, parent)):
            return None
    return None


def _same_directory(a: os.stat_result, b: os.stat_result) -> bool:
    return a.st_size == b.st_size and a.st_mode == b.st_mode and a.st_mtime_ns == b.st_mtime_ns


def _same_owner_and_mode(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_mode, a.st_uid, a.st_gid) == (b.st_mode, b.st_uid, b.st_gid)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


# --- paths inside the merged root -------------------------------------------------------

class InRoot:
    """The container's merged root, open; paths are the container's ("/etc/x")."""

    def __init__(self, merged: str):
        self.merged = merged
        self.fd = os.open(merged, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> "InRoot":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open_directory(self, path: str) -> int:
        """A descriptor of the directory `path`, every symlink followed inside the root."""
        from hakobune import _sys

        relative = path.lstrip("/") or "."
        return _sys.openat2(self.fd, relative, os.O_RDONLY | os.O_DIRECTORY,
                            _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS)

    def split(self, path: str) -> tuple[int, str]:
        """(descriptor of the directory holding `path`'s last component, that
        component): the directory resolved inside the root, the last component
        not followed.  A path with a trailing "/" or "/." names the directory
        itself, as ("." in it)."""
        directory, base = posixpath.split(path)
        if base == "":
            base = "."
        return self.open_directory(directory or "/"), base

    def container_path(self, fd: int) -> str:
        """Where the open descriptor `fd` is, as a path inside the container."""
        host = os.readlink(f"/proc/self/fd/{fd}")
        relative = os.path.relpath(host, os.path.realpath(self.merged))
        return "/" if relative == "." else "/" + relative

    def link_target(self, path: str) -> str:
        """A symlink's target fully evaluated inside the root (Docker's
        LinkTarget); lexically when it dangles."""
        from hakobune import _sys

        try:
            fd = _sys.openat2(self.fd, path.lstrip("/"), os.O_PATH,
                              _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS)
        except OSError:
            directory_fd, base = self.split(path)
            try:
                target = os.readlink(base, dir_fd=directory_fd)
                return posixpath.normpath(posixpath.join(self.container_path(directory_fd), target))
            finally:
                os.close(directory_fd)
        try:
            return self.container_path(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def engine_files_shown(root: InRoot, container_dir: str):
    """The container's hostname, hosts and resolv.conf (the engine's files in
    `container_dir`) bind-mounted over their mount points in the merged root
    while inside, as Docker's archive operations see them; a mount point
    that is no regular file is left alone."""
    from hakobune import _sys

    mounted = []
    try:
        for name in ENGINE_FILES:
            source = os.path.join(container_dir, posixpath.basename(name))
            if os.path.isfile(source) and _bind_over(root, name, source):
                mounted.append(name)
        yield
    finally:
        for name in reversed(mounted):
            fd = _open_in_root(root, name)
            try:
                _sys.umount(f"/proc/self/fd/{fd}", _sys.MNT_DETACH)
            finally:
                os.close(fd)


def _bind_over(root: InRoot, name: str, source: str) -> bool:
    from hakobune import _sys

    try:
        fd = _open_in_root(root, name)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        _sys.mount(source, f"/proc/self/fd/{fd}", None, _sys.MS_BIND)
        return True
    finally:
        os.close(fd)


def _open_in_root(root: InRoot, name: str) -> int:
    """An O_PATH descriptor of `name` (never following its last component), inside the root."""
    from hakobune import _sys

    return _sys.openat2(root.fd, name, os.O_PATH | os.O_NOFOLLOW, _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS)


def absolute(path: str) -> str:
    """`path` as an absolute container path, keeping a trailing "/" or "/."
    (Docker's PreserveTrailingDotOrSeparator)."""
    cleaned = posixpath.normpath("/" + path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/.") or path == ".":
        return cleaned.rstrip("/") + "/."
    if path.endswith("/") and cleaned != "/":
        return cleaned + "/"
    return cleaned


def not_found(path: str, container: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {container}")


# --- stat ---------------------------------------------------------------------------------

_GO_TYPE_BITS = ((stat.S_ISDIR, 1 << 31), (stat.S_ISLNK, 1 << 27), (stat.S_ISFIFO, 1 << 25),
                 (stat.S_ISSOCK, 1 << 24), (stat.S_ISBLK, 1 << 26), (stat.S_ISCHR, (1 << 26) | (1 << 21)))


def go_file_mode(mode: int) -> int:
    """An st_mode as Go's os.FileMode."""
    value = stat.S_IMODE(mode) & 0o777
    for test, bits in _GO_TYPE_BITS:
        if test(mode):
            value |= bits
            break
    if mode & stat.S_ISUID:
        value |= 1 << 23
    if mode & stat.S_ISGID:
        value |= 1 << 22
    if mode & stat.S_ISVTX:
        value |= 1 << 20
    return value


def is_go_directory(mode: int) -> bool:
    return bool(mode & (1 << 31))


def is_go_symlink(mode: int) -> bool:
    return bool(mode & (1 << 27))


def stat_of(name: str, info: os.stat_result, link_target: str = "") -> dict:
    """Docker's ContainerPathStat."""
    from hakobune.monitor.spec import rfc3339nano

    return {"name": name, "size": info.st_size, "mode": go_file_mode(info.st_mode),
            "mtime": rfc3339nano(info.st_mtime_ns), "linkTarget": link_target}


# --- tars of the root's entries -----------------------------------------------------------

_XATTRS_KEPT = ("security.capability",)


class TreeWriter:
    """Writes entries (and all under them) to a tar stream, reading every
    one through the descriptor of its directory without following symlinks."""

    def __init__(self, output):
        self.archive = tarfile.open(fileobj=_Counting(output), mode="w", format=tarfile.PAX_FORMAT,
                                    encoding="utf-8", errors="surrogateescape")
        self.first_names: dict[tuple[int, int], str] = {}

    def close(self) -> None:
        """The end-of-archive blocks, without tarfile's padding to 10 KiB records (as Go writes)."""
        self.archive.fileobj.write(tarfile.NUL * (2 * tarfile.BLOCKSIZE))
        self.archive.closed = True

    def add(self, directory_fd: int, name: str, arcname: str) -> None:
        info = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
        if stat.S_ISSOCK(info.st_mode):
            return
        header = self._header(arcname, info, directory_fd, name)
        if stat.S_ISREG(info.st_mode):
            self._regular(directory_fd, name, header, info)
        elif stat.S_ISDIR(info.st_mode):
            self.archive.addfile(header)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory_fd)
            try:
                self.add_children(fd, arcname)
            finally:
                os.close(fd)
        else:
            self.archive.addfile(header)

    def add_children(self, directory_fd: int, prefix: str) -> None:
        for child in sorted(os.listdir(directory_fd), key=os.fsencode):
            self.add(directory_fd, child, f"{prefix}/{child}" if prefix else child)

    def _regular(self, directory_fd: int, name: str, header: tarfile.TarInfo, info: os.stat_result) -> None:
        if info.st_nlink > 1:
            first = self.first_names.setdefault((info.st_dev, info.st_ino), header.name)
            if first != header.name:
                header.type, header.linkname, header.size = tarfile.LNKTYPE, first, 0
                self.archive.addfile(header)
                return
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory_fd)
        with os.fdopen(fd, "rb") as content:
            header.size = os.fstat(content.fileno()).st_size
            self.archive.addfile(header, _Exactly(content, header.size))

    @staticmethod
    def _header(arcname: str, info: os.stat_result, directory_fd: int, name: str) -> tarfile.TarInfo:
        header = tarfile.TarInfo(arcname)
        header.mode = stat.S_IMODE(info.st_mode)
        header.uid, header.gid = info.st_uid, info.st_gid
        header.uname = header.gname = ""
        header.mtime = info.st_mtime_ns // 1_000_000_000
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            header.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            header.type = tarfile.SYMTYPE
            header.linkname = os.readlink(name, dir_fd=directory_fd)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            header.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            header.devmajor, header.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
        elif stat.S_ISFIFO(mode):
            header.type = tarfile.FIFOTYPE
        if stat.S_ISREG(mode):
            header.pax_headers = _kept_xattrs(directory_fd, name)
        return header


class _Counting:
    """A writable with a position, for tarfile's non-streaming writer on a pipe."""

    def __init__(self, output):
        self.output = output
        self.offset = 0

    def write(self, data) -> int:
        self.output.write(data)
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset


class _Exactly:
    """A file read as exactly `size` bytes (zeros if it shrank meanwhile), as
    tarfile needs what the header promised."""

    def __init__(self, f, size: int):
        self.f = f
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self.left -= len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _kept_xattrs(directory_fd: int, name: str) -> dict:
    path = f"/proc/self/fd/{directory_fd}/{name}"
    values = {}
    for key in _XATTRS_KEPT:
        try:
            values[f"SCHILY.xattr.{key}"] = os.getxattr(path, key, follow_symlinks=False).decode(
                "utf-8", "surrogateescape")
        except OSError:
            continue
    return values


# --- extracting into the root ---------------------------------------------------------------

def filter_archive(source, output, destination_fd: int, no_overwrite_dir_non_dir: bool,
                   owner: tuple[int, int] | None) -> None:
    """Copy the tar read from `source` (plain or compressed) to `output`,
    refusing (with `no_overwrite_dir_non_dir`) an entry that would replace a
    directory under `destination_fd` with a non-directory or the reverse,
    and giving every entry `owner` (uid, gid) when set."""
    try:
        incoming = tarfile.open(fileobj=source, mode="r|*", encoding="utf-8", errors="surrogateescape")
    except tarfile.ReadError as e:
        raise InvalidArgument(f"the archive is not a tar: {e}") from None
    with incoming, tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                                errors="surrogateescape") as outgoing:
        try:
            for member in incoming:
                if no_overwrite_dir_non_dir:
                    _check_replacement(destination_fd, member)
                if owner is not None:
                    member.uid, member.gid = owner
                    member.uname = member.gname = ""
                content = incoming.extractfile(member) if member.isreg() else None
                outgoing.addfile(member, content)
        except tarfile.TarError as e:
            raise InvalidArgument(f"reading the archive: {e}") from None


def _check_replacement(destination_fd: int, member: tarfile.TarInfo) -> None:
    from hakobune import _sys

    relative = posixpath.normpath(member.name.lstrip("/"))
    if relative in (".", "") or relative.startswith("../"):
        return
    directory, leaf = posixpath.split(relative)
    try:
        fd = _sys.openat2(destination_fd, directory or ".", os.O_RDONLY | os.O_DIRECTORY,
                          _sys.RESOLVE_IN_ROOT | _sys.RESOLVE_NO_MAGICLINKS)
    except OSError:
        return
    try:
        existing = os.stat(leaf, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return
    finally:
        os.close(fd)
    if stat.S_ISDIR(existing.st_mode) and not member.isdir():
        raise InvalidArgument(f'cannot overwrite directory "/{relative}" with non-directory "{member.name}"')
    if not stat.S_ISDIR(existing.st_mode) and member.isdir():
        raise InvalidArgument(f'cannot overwrite non-directory "/{relative}" with directory "{member.name}"')

