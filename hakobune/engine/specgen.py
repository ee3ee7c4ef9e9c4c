"""From an image's config and `run`'s options to an OCI runtime config.

Docker's defaults (capabilities, seccomp, masked and read-only paths, the
default mounts) come from hakobune.oci.defaults.default_spec; on top:

- args: the entrypoint and the command (`--entrypoint` replaces the image's
  entrypoint and drops its Cmd; a command given on the line replaces Cmd);
- env: PATH's default when the image has none, HOSTNAME, the image's Env,
  then `-e`; HOME from the user's passwd entry (or "/") when unset;
- cwd: `-w` or the image's WorkingDir (created in the rootfs if missing);
- user: `-u` or the image's User, numeric or looked up in the image's
  /etc/passwd and /etc/group (supplementary groups included);
- hostname: `--hostname` or the short id; /etc/hostname, /etc/hosts and
  /etc/resolv.conf are files the engine writes in the container's
  directory, bind-mounted;
- network: none yet — a private network namespace with only loopback
  (as Docker's `--network none`);
- cgroupsPath: /hakobune/<id>.
"""

from __future__ import annotations

import os

from hakobune.errors import InvalidArgument
from hakobune.oci.defaults import DEFAULT_PATH_ENV, default_spec


def command_of(entrypoint: list[str] | None, cmd: list[str] | None) -> list[str]:
    return list(entrypoint or []) + list(cmd or [])


def merge_env(*lists) -> list[str]:
    """Later entries replace earlier ones with the same name, keeping the first position."""
    order: list[str] = []
    values: dict[str, str] = {}
    for entries in lists:
        for entry in entries or ():
            key = entry.partition("=")[0]
            if key not in values:
                order.append(key)
            values[key] = entry
    return [values[k] for k in order]


def container_env(image_env: list[str], options_env: list[str], hostname: str) -> list[str]:
    env = merge_env([f"HOSTNAME={hostname}"], image_env, options_env)
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH_ENV)
    return env


# --- users -----------------------------------------------------------------------

def _read_in_root(rootfs: str, path: str) -> str | None:
    """A file of the container's rootfs, its symlinks resolved inside it."""
    from hakobune import _sys as S

    try:
        dirfd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fd = S.openat2(dirfd, path.lstrip("/"), os.O_RDONLY | os.O_CLOEXEC, S.RESOLVE_IN_ROOT | S.RESOLVE_NO_MAGICLINKS)
    except OSError:
        return None
    finally:
        os.close(dirfd)
    with open(fd, "rb") as f:
        return f.read(1 << 20).decode(errors="replace")


def _entries(text: str | None, fields: int):
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) >= fields:
            yield parts


def resolve_user(rootfs: str, user: str) -> dict:
    """`uid[:gid]` or `name[:group]` → the OCI process.user and HOME."""
    name, _, group = (user or "").partition(":")
    passwd = _read_in_root(rootfs, "/etc/passwd")
    uid = gid = 0
    home = "/"
    found = None
    if name == "":
        name = "0"
    for parts in _entries(passwd, 7):
        if parts[0] == name or (name.isdigit() and parts[2] == name):
            found = parts
            break
    if found is not None:
        uid, gid, home = int(found[2]), int(found[3]), found[5] or "/"
        user_name = found[0]
    elif name.isdigit():
        uid, user_name = int(name), None
        gid = 0
    else:
        raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
    groups_text = _read_in_root(rootfs, "/etc/group")
    if group:
        matched = None
        for parts in _entries(groups_text, 3):
            if parts[0] == group or (group.isdigit() and parts[2] == group):
                matched = int(parts[2])
                break
        if matched is None:
            if not group.isdigit():
                raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
            matched = int(group)
        gid = matched
    additional = []
    if user_name is not None:
        for parts in _entries(groups_text, 4):
            members = [m for m in parts[3].split(",") if m]
            if user_name in members and parts[2].isdigit():
                g = int(parts[2])
                if g != gid and g not in additional:
                    additional.append(g)
    result = {"uid": uid, "gid": gid}
    if additional:
        result["additionalGids"] = additional
    return {"user": result, "home": home}


def ensure_workdir(rootfs: str, workdir: str) -> None:
    """Create the working directory in the rootfs as Docker does, refusing
    to follow symlinks on the way (a symlinked component is left to the
    runtime, which resolves it inside the root)."""
    current = rootfs
    for part in [p for p in workdir.split("/") if p and p != "."]:
        if part == "..":
            return
        current = os.path.join(current, part)
        try:
            os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            continue
        if not os.path.isdir(current) or os.path.islink(current):
            return


# --- the files the engine writes ---------------------------------------------------

def write_etc_files(container_dir: str, hostname: str) -> dict[str, str]:
    files = {}
    hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
             "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
    resolv = ""
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                words = line.split()
                # loopback resolvers are unreachable from a private network namespace
                if words[:1] == ["nameserver"] and len(words) > 1 and (
                        words[1].startswith("127.") or words[1] == "::1"):
                    continue
                resolv += line
    except OSError:
        pass
    for name, text in (("hostname", hostname + "\n"), ("hosts", hosts), ("resolv.conf", resolv)):
        path = os.path.join(container_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        files[name] = path
    return files


def generate(record: dict, rootfs: str, container_dir: str) -> dict:
    """The OCI config.json for `record` (the container's record) over `rootfs`."""
    config = record["Config"]
    args = command_of(config.get("Entrypoint"), config.get("Cmd"))
    if not args:
        raise InvalidArgument("no command specified")
    hostname = config["Hostname"]
    spec = default_spec(args=args)
    process = spec["process"]
    identity = resolve_user(rootfs, config.get("User") or "")
    process["user"] = identity["user"]
    env = list(config.get("Env") or [])
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={identity['home']}")
    if config.get("Tty") and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    process["env"] = env
    cwd = config.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{cwd}' is invalid, it needs to be an absolute path")
    ensure_workdir(rootfs, cwd)
    process["cwd"] = cwd
    process["terminal"] = bool(config.get("Tty"))
    spec["root"] = {"path": rootfs, "readonly": False}
    spec["hostname"] = hostname
    files = write_etc_files(container_dir, hostname)
    for name in ("resolv.conf", "hostname", "hosts"):
        spec["mounts"].append({"destination": f"/etc/{name}", "type": "bind", "source": files[name],
                               "options": ["rbind", "rprivate"]})
    spec["linux"]["cgroupsPath"] = f"/hakobune/{record['Id']}"
    return spec


def write_bundle(bundle_dir: str, spec: dict) -> str:
    import json

    os.makedirs(bundle_dir, mode=0o700, exist_ok=True)
    path = os.path.join(bundle_dir, "config.json")
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(spec, f)
    os.replace(temporary, path)
    return bundle_dir

