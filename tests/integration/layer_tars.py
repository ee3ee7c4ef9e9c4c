"""Layer tarballs for tests, built in memory with the standard library's tarfile."""

import gzip
import io
import tarfile

MTIME = 1_600_000_000


def _info(name: str, kind, mode: int, uid=0, gid=0, mtime=MTIME, xattrs=None, **fields) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{key}": value for key, value in xattrs.items()}
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def file(name: str, data: bytes = b"", mode=0o644, **kw):
    info = _info(name, tarfile.REGTYPE, mode, **kw)
    info.size = len(data)
    return info, data


def directory(name: str, mode=0o755, **kw):
    return _info(name, tarfile.DIRTYPE, mode, **kw), None


def symlink(name: str, target: str, **kw):
    return _info(name, tarfile.SYMTYPE, 0o777, linkname=target, **kw), None


def hardlink(name: str, target: str, **kw):
    return _info(name, tarfile.LNKTYPE, 0o644, linkname=target, **kw), None


def device(name: str, kind="char", major=1, minor=3, mode=0o666, **kw):
    kind = tarfile.CHRTYPE if kind == "char" else tarfile.BLKTYPE
    return _info(name, kind, mode, devmajor=major, devminor=minor, **kw), None


def fifo(name: str, mode=0o600, **kw):
    return _info(name, tarfile.FIFOTYPE, mode, **kw), None


def whiteout(path: str):
    directory_name, _, name = path.rpartition("/")
    return file(f"{directory_name}/.wh.{name}" if directory_name else f".wh.{name}")


def opaque(path: str):
    return file(f"{path}/.wh..wh..opq")


def tar(*entries, format=tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)
