"""The container filesystem commands: diff, commit, cp, export.

`cp` is the docker CLI's: the local side of a copy (resolving the local
path, packing or unpacking it, renaming the tar's top entry so that
"copy a file onto a new name", "a directory into an existing one" and
"SRC/. means its contents" come out as Docker's) is done here, as the
docker CLI does it; the container's side is the Engine's archive_stat /
archive_get / archive_put, the Docker API's HEAD / GET / PUT
/containers/{id}/archive.
"""

import os
import posixpath
import sys

from hakobune.cli.images import engine_of, write

CHANGE_LETTERS = {0: "C", 1: "A", 2: "D"}
_NOT_A_FILE = (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)  # Go's device, pipe, socket, irregular


def diff(inv):
    changes = engine_of(inv).container_changes(inv.args[0])
    write("".join(f"{CHANGE_LETTERS[change['Kind']]} {change['Path']}\n" for change in changes))
    return 0


def commit(inv):
    name, reference = inv.args[0], (inv.args[1:] or [""])[0]
    _refuse_bad_name(reference)
    image_id = engine_of(inv).commit_container(name, reference or None, author=inv.opts.author or "",
                                               comment=inv.opts.message or "", changes=inv.opts.change or (),
                                               pause=inv.opts.pause)
    write(image_id + "\n")
    return 0


def _refuse_bad_name(reference: str) -> None:
    """The docker CLI's own check of REPOSITORY[:TAG], before asking the daemon."""
    from hakobune.cli.main import CLIError
    from hakobune.errors import InvalidArgument
    from hakobune.oci.reference import parse_named

    if not reference:
        return
    try:
        parse_named(reference)
    except InvalidArgument as e:
        raise CLIError(str(e), 1) from None


def export(inv):
    from hakobune.cli.main import CLIError

    output = inv.opts.output
    if not output:
        if sys.stdout.isatty():
            raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
        engine = engine_of(inv)
        sys.stdout.flush()
        engine.export_container(inv.args[0], sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    problem = _output_path_problem(output)
    if problem:
        raise CLIError(f"failed to export container: {problem}", 1)
    engine = engine_of(inv)
    _write_file_atomically(output, lambda f: engine.export_container(inv.args[0], f))
    return 0


def _write_file_atomically(path: str, produce) -> None:
    """`produce(f)` into a temporary file beside `path`, renamed onto it once complete."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix=".docker_temp_", delete=False)
    try:
        with handle:
            produce(handle)
        os.chmod(handle.name, 0o600)
        os.replace(handle.name, path)
    except BaseException:
        try:
            os.unlink(handle.name)
        except OSError:
            pass
        raise


def _output_path_problem(path: str) -> str | None:
    """docker's ValidateOutputPath: the message, or None when `path` will do."""
    import stat

    directory = os.path.dirname(os.path.normpath(path))
    if directory and directory != "." and not os.path.exists(directory):
        return f'invalid output path: directory "{directory}" does not exist'
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"stat {path}: {_strerror(e)}"
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return f'invalid output path: "{path}" must be a directory or a regular file'
    return None


def _strerror(e: OSError) -> str:
    return (e.strerror or str(e)).lower() if e.errno else str(e)


# --- cp --------------------------------------------------------------------------------

def cp(inv):
    from hakobune.cli.main import CLIError

    source_container, source_path = split_cp_arg(inv.args[0])
    destination_container, destination_path = split_cp_arg(inv.args[1])
    if source_container and destination_container:
        raise CLIError("copying between containers is not supported", 1)
    if not source_container and not destination_container:
        raise CLIError("must specify at least one container source", 1)
    if not source_path:
        raise CLIError("source path cannot be empty", 1)
    if not destination_path:
        raise CLIError("destination path cannot be empty", 1)
    engine = engine_of(inv)
    if source_container:
        copied, shown = _copy_from_container(engine, source_container, source_path, destination_path, inv.opts)
    else:
        copied, shown = _copy_to_container(engine, source_path, destination_container, destination_path, inv.opts)
    if not inv.opts.quiet and shown and sys.stderr.isatty():
        from hakobune.cli.images import human_size

        sys.stderr.write(f"Successfully copied {human_size(copied)} to {shown}\n")
    return 0


def split_cp_arg(argument: str) -> tuple[str, str]:
    """("container", "path") of "container:path"; ("", argument) for a local path
    (absolute, or relative starting with "." even if it holds a ":")."""
    if argument.startswith("/"):
        return "", argument
    container, colon, path = argument.partition(":")
    if not colon or container.startswith("."):
        return "", argument
    return container, path


def _go_base(path: str) -> str:
    """Go's filepath.Base."""
    trimmed = path.rstrip("/")
    if not trimmed:
        return "/" if path else "."
    return posixpath.basename(trimmed)


def split_dir_entry(path: str) -> tuple[str, str]:
    """archive.SplitPathDirEntry: (directory, entry); "dir/." gives ("dir", ".")."""
    cleaned = posixpath.normpath(path)
    if _go_base(path) == ".":
        cleaned = cleaned.rstrip("/") + "/."
    return posixpath.dirname(cleaned) or ".", posixpath.basename(cleaned) or "/"


def _asserts_directory(path: str) -> bool:
    return path.endswith("/") or _go_base(path) == "."


def _preserve_trailing(cleaned: str, original: str) -> str:
    if original.endswith("/.") and not cleaned.endswith("/."):
        return cleaned.rstrip("/") + "/."
    if original.endswith("/") and not cleaned.endswith("/"):
        return cleaned + "/"
    return cleaned


def _local_absolute(path: str) -> str:
    return _preserve_trailing(os.path.abspath(path), path)


def _rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """archive.GetRebaseName: (resolved path with `path`'s trailing "/." or "/",
    the name its entries must take, or "")."""
    if _go_base(path) == "." and _go_base(resolved) != ".":
        resolved = resolved.rstrip("/") + "/."
    elif path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    rebase = _go_base(path) if _go_base(path) != _go_base(resolved) else ""
    return resolved, rebase


def _prepare_copy(source_path: str, source_is_dir: bool, rebase: str, destination: "_Destination"):
    """archive.PrepareArchiveCopy: (directory to extract into, (old, new) top
    entry name or None)."""
    from hakobune.cli.main import CLIError

    destination_dir, destination_base = split_dir_entry(destination.path)
    source_base = rebase or split_dir_entry(source_path)[1]
    if destination.exists and destination.is_dir:
        return destination.path, None
    if destination.exists and source_is_dir:
        raise CLIError("cannot copy directory", 1)
    if not destination.exists and not source_is_dir and _asserts_directory(destination.path):
        raise CLIError("no such directory", 1)
    return destination_dir, (source_base, destination_base)


class _Destination:
    def __init__(self, path: str, exists: bool = False, is_dir: bool = False):
        self.path, self.exists, self.is_dir = path, exists, is_dir


# --- from a container ------------------------------------------------------------------------

def _copy_from_container(engine, container: str, source_path: str, destination_path: str, opts):
    from hakobune.cli.main import CLIError
    from hakobune.engine.container_fs import is_go_directory, is_go_symlink

    if destination_path != "-":
        destination_path = _local_absolute(destination_path)
        problem = _output_path_problem(destination_path)
        if problem:
            raise CLIError(problem, 1)
    rebase = ""
    if opts.follow_link:
        link = engine.archive_stat(container, source_path)
        if is_go_symlink(link["mode"]):
            target = link["linkTarget"]
            if not target.startswith("/"):
                target = posixpath.join(split_dir_entry(source_path)[0], target)
            source_path, rebase = _rebase_name(source_path, target)
    with engine.archive_get(container, source_path) as (path_stat, write_tar):
        if destination_path == "-":
            sys.stdout.flush()
            write_tar(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return 0, ""
        import tempfile

        with tempfile.TemporaryFile() as spool:
            write_tar(spool)
            size = spool.tell()
            spool.seek(0)
            destination = _local_destination(destination_path)
            into, rename = _prepare_copy(source_path, is_go_directory(path_stat["mode"]), rebase, destination)
            tar_top = split_dir_entry(source_path)[1]
            final_top = rename[1] if rename is not None else (rebase or tar_top)
            _extract_locally(spool, into, (tar_top, final_top) if final_top != tar_top else None)
    return size, destination_path


def _local_destination(path: str) -> _Destination:
    """archive.CopyInfoDestinationPath: the destination, symlinks at its end followed."""
    from hakobune.cli.main import CLIError

    original = path
    for _ in range(11):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            break
        import stat

        if not stat.S_ISLNK(info.st_mode):
            return _Destination(path, True, stat.S_ISDIR(info.st_mode))
        target = os.readlink(path)
        path = target if target.startswith("/") else os.path.join(split_dir_entry(path)[0], target)
    else:
        raise CLIError(f"too many symlinks in {original}", 1)
    parent = split_dir_entry(path)[0]
    try:
        parent_info = os.stat(parent)
    except OSError as e:
        raise CLIError(f"stat {parent}: {_strerror(e)}", 1) from None
    import stat

    if not stat.S_ISDIR(parent_info.st_mode):
        raise CLIError("not a directory", 1)
    return _Destination(path)


def _extract_locally(spool, directory: str, rename) -> None:
    """Untar into `directory` as docker's CLI does (no owners set, a directory
    never replaced by a file nor the reverse), renaming the top entry
    `rename[0]` to `rename[1]`; nothing is written outside `directory`."""
    import tarfile

    from hakobune.cli.main import CLIError

    top = os.path.realpath(directory)
    try:
        with tarfile.open(fileobj=spool, mode="r:") as archive:
            for member in archive:
                if rename is not None:
                    member.name = _renamed(member.name, *rename)
                    if member.islnk():
                        member.linkname = _renamed(member.linkname, *rename)
                if _make_room(top, member):
                    member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
                    archive.extract(member, top, numeric_owner=True)
    except OSError as e:
        raise CLIError(f"{e.filename or directory}: {_strerror(e)}", 1) from None


def _make_room(top: str, member) -> bool:
    """Check that `member` lands inside `top` (its directory reached without
    leaving it) and clear its place: False for the top directory itself."""
    from hakobune.cli.main import CLIError
    import stat

    relative = posixpath.normpath(member.name.lstrip("/"))
    if relative == ".":
        return False
    if relative.startswith("../") or relative == "..":
        raise CLIError(f'invalid archive entry "{member.name}": outside of "{top}"', 1)
    target = os.path.join(top, relative)
    if not _inside(top, os.path.realpath(os.path.dirname(target))):
        raise CLIError(f'invalid archive entry "{member.name}": it leads outside of "{top}"', 1)
    if member.islnk() and not _inside(top, os.path.realpath(os.path.join(top, member.linkname.lstrip("/")))):
        raise CLIError(f'invalid hard link "{member.name}" -> "{member.linkname}": outside of "{top}"', 1)
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        return True
    if stat.S_ISDIR(existing.st_mode):
        if not member.isdir():
            raise CLIError(f'cannot overwrite directory "{target}" with non-directory "{top}"', 1)
    elif member.isdir():
        raise CLIError(f'cannot overwrite non-directory "{target}" with directory "{top}"', 1)
    else:
        os.unlink(target)
    return True


def _inside(top: str, path: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _renamed(name: str, old: str, new: str) -> str:
    """archive.RebaseArchiveEntries for one name: its first component `old` becomes `new`."""
    first, slash, rest = name.partition("/")
    if first != old:
        return name
    return new + slash + rest


# --- into a container -----------------------------------------------------------------------

def _copy_to_container(engine, source_path: str, container: str, destination_path: str, opts):
    from hakobune.cli.main import CLIError
    from hakobune.engine.container_fs import is_go_directory, is_go_symlink
    from hakobune.errors import HakobuneError

    engine.container_id(container)  # No such container: before anything else; other stat errors are ignored
    destination = _Destination(destination_path)
    try:
        found = engine.archive_stat(container, destination_path)
    except HakobuneError:
        found = None
    if found is not None and is_go_symlink(found["mode"]):
        target = found["linkTarget"]
        if not target.startswith("/"):
            target = posixpath.join(split_dir_entry(destination_path)[0], target)
        destination.path = target
        try:
            found = engine.archive_stat(container, target)
        except HakobuneError:
            found = None
    if found is not None:
        destination.exists, destination.is_dir = True, is_go_directory(found["mode"])
        if found["mode"] & _NOT_A_FILE:
            raise CLIError(f'destination "{container}:{destination_path}" must be a directory or a regular file', 1)
    shown = f"{container}:{destination_path}"
    if source_path == "-":
        if not destination.is_dir:
            raise CLIError(f'destination "{container}:{destination_path}" must be a directory', 1)
        engine.archive_put(container, destination.path, sys.stdin.buffer, no_overwrite_dir_non_dir=True,
                           copy_uid_gid=opts.archive)
        return 0, ""
    source_path, source_is_dir, rebase = _local_source(_local_absolute(source_path), opts.follow_link)
    into, rename = _prepare_copy(source_path, source_is_dir, rebase, destination)
    import tempfile

    with tempfile.TemporaryFile() as spool:
        _pack_locally(source_path, rebase, rename, spool)
        size = spool.tell()
        spool.seek(0)
        engine.archive_put(container, into, spool, no_overwrite_dir_non_dir=True, copy_uid_gid=opts.archive)
    return size, shown


def _local_source(path: str, follow_link: bool) -> tuple[str, bool, str]:
    """archive.CopyInfoSourcePath: (resolved path, whether a directory, rebase name)."""
    from hakobune.cli.main import CLIError
    import stat

    if follow_link:
        resolved, rebase = _rebase_name(path, os.path.realpath(path))
    else:
        directory, base = os.path.split(path)
        resolved = os.path.realpath(directory or ".").rstrip("/") + "/" + base
        rebase = _go_base(path) if path.endswith("/") and _go_base(path) != _go_base(resolved) else ""
    try:
        info = os.lstat(resolved)
    except OSError as e:
        raise CLIError(f"lstat {resolved}: {_strerror(e)}", 1) from None
    return resolved, stat.S_ISDIR(info.st_mode), rebase


def _pack_locally(source_path: str, rebase: str, rename, output) -> None:
    """archive.TarResourceRebase, then the rename PrepareArchiveCopy asked for."""
    import tarfile

    directory, base = split_dir_entry(source_path)
    top = rename[1] if rename is not None else (rebase or base)
    with tarfile.open(fileobj=output, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        archive.add(os.path.join(directory, base), arcname=top, recursive=True)
