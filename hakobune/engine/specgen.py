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
- cgroupsPath: /hakobune/<id> (or /<--cgroup-parent>/<id>);
- HostConfig (apply_host_config), as Docker's daemon maps it: resources
  (memory, CPU, cpuset, pids, devices), rlimits (defaults clamped to the
  caller's hard limits), capabilities, seccomp, no_new_privileges, AppArmor,
  a read-only root, privileged mode (every capability and host device, no
  seccomp, masks or read-only paths, /sys and cgroups writable), --init
  (tini-static bind-mounted at /sbin/docker-init as PID 1), /dev/shm's
  size, sysctls, oomScoreAdj, additional groups, and the IPC, PID and UTS
  namespaces.
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
    additional = [gid]  # as Docker's: the primary group is in the process's group list too ("groups=0")
    if user_name is not None:
        for parts in _entries(groups_text, 4):
            members = [m for m in parts[3].split(",") if m]
            if user_name in members and parts[2].isdigit():
                g = int(parts[2])
                if g != gid and g not in additional:
                    additional.append(g)
    result = {"uid": uid, "gid": gid, "additionalGids": additional}
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
    from hakobune.engine.containers import cgroup_parent_of

    spec["linux"]["cgroupsPath"] = f"/{cgroup_parent_of(record)}/{record['Id']}"
    apply_host_config(spec, record.get("HostConfig") or {}, rootfs)
    return spec


# --- the monitor -----------------------------------------------------------------------

def runtime_of(record: dict, runroot: str) -> tuple[str, str]:
    """(executable, --root) of the container's OCI runtime: hakobune-runtime
    keeps its state in <runroot>/runtime, any other in a root of its own."""
    from hakobune.engine import create as C

    name = record["HostConfig"].get("Runtime") or C.DEFAULT_RUNTIME
    runtime = C.runtime_path(name)
    if name == C.DEFAULT_RUNTIME:
        return runtime, os.path.join(runroot, "runtime")
    return runtime, os.path.join(runroot, "runtime-" + os.path.basename(runtime))


def monitor_spec_of(record: dict, bundle: str, state_dir: str, log_path: str, runroot: str):
    """The MonitorSpec of a container's record: its runtime (and that
    runtime's own state root), restart policy, log rotation, health check."""
    from hakobune.engine import create as C
    from hakobune.monitor import MonitorSpec

    config, host = record["Config"], record["HostConfig"]
    runtime, runtime_root = runtime_of(record, runroot)
    log_config = host.get("LogConfig") or {"Type": "json-file", "Config": {}}
    max_size, max_file = C.rotation_of(log_config) if log_config.get("Type") != "none" else (0, 1)
    policy = host.get("RestartPolicy") or {}
    restart = policy.get("Name") or "no"
    if restart == "on-failure" and policy.get("MaximumRetryCount"):
        restart += f":{policy['MaximumRetryCount']}"
    return MonitorSpec(record["Id"], bundle, state_dir, "" if log_config.get("Type") == "none" else log_path,
                       runtime=runtime, runtime_root=runtime_root, tty=bool(config.get("Tty")),
                       stdin_open=bool(config.get("OpenStdin")), restart=restart,
                       log_max_size=max_size, log_max_file=max_file, health=health_of(config))


def health_of(config: dict) -> dict | None:
    """The monitor's health check from Config.Healthcheck (durations in
    seconds); None without one or with ["NONE"]."""
    check = config.get("Healthcheck") or {}
    test = check.get("Test") or []
    if not test or test[0] == "NONE" or (test[0] == "CMD-SHELL" and len(test) < 2) or (
            test[0] == "CMD" and len(test) < 2):
        return None
    if test[0] not in ("CMD", "CMD-SHELL"):
        return None
    return {"test": list(test), "interval": (check.get("Interval") or 0) / 1e9,
            "timeout": (check.get("Timeout") or 0) / 1e9, "start_period": (check.get("StartPeriod") or 0) / 1e9,
            "start_interval": (check.get("StartInterval") or 0) / 1e9, "retries": check.get("Retries") or 0}


def write_bundle(bundle_dir: str, spec: dict) -> str:
    """The OCI bundle's config.json (compact, through the C encoder: json.dump
    would walk the 9 kB spec in Python, after importing re and enum)."""
    from hakobune import _fastjson

    os.makedirs(bundle_dir, mode=0o700, exist_ok=True)
    path = os.path.join(bundle_dir, "config.json")
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        f.write(_fastjson.dumps(spec))
    os.replace(temporary, path)
    return bundle_dir



# --- HostConfig → spec ---------------------------------------------------------------

INIT_PATH = "/usr/bin/tini-static"
INIT_IN_CONTAINER = "/sbin/docker-init"


def apply_host_config(spec: dict, host: dict, rootfs: str) -> None:
    from hakobune.engine.create import security_settings

    security = security_settings(host.get("SecurityOpt") or [])
    privileged = bool(host.get("Privileged"))
    apply_resources(spec, host)
    apply_rlimits(spec, host.get("Ulimits") or [])
    capabilities = apply_capabilities(spec, host, privileged)
    apply_seccomp(spec, security["seccomp"], privileged, capabilities)
    process = spec["process"]
    process["noNewPrivileges"] = security["no_new_privileges"]
    if security["apparmor"] and security["apparmor"] != "unconfined" and not privileged:
        process["apparmorProfile"] = security["apparmor"]
    spec["root"]["readonly"] = bool(host.get("ReadonlyRootfs"))
    if privileged:
        apply_privileged(spec)
    apply_devices(spec, host.get("Devices") or [])
    apply_namespaces(spec, host)
    if host.get("Sysctls"):
        spec["linux"]["sysctl"] = dict(host["Sysctls"])
    if host.get("OomScoreAdj"):
        process["oomScoreAdj"] = int(host["OomScoreAdj"])
    if host.get("GroupAdd"):
        groups = process["user"].setdefault("additionalGids", [])
        for group in host["GroupAdd"]:
            gid = resolve_group(rootfs, group)
            if gid not in groups:
                groups.append(gid)
    if host.get("Init"):
        apply_init(spec)


def apply_resources(spec: dict, host: dict) -> None:
    resources = spec["linux"].setdefault("resources", {})
    resources.update(resources_of(host))


def resources_of(host: dict) -> dict:
    """linux.resources' memory, cpu and pids from HostConfig's fields
    (also what `update` hands to the runtime)."""
    memory, cpu = {}, {}
    if host.get("Memory"):
        memory["limit"] = host["Memory"]
    if host.get("MemoryReservation"):
        memory["reservation"] = host["MemoryReservation"]
    if host.get("MemorySwap"):
        memory["swap"] = host["MemorySwap"]
    if host.get("MemorySwappiness") not in (None, -1):
        memory["swappiness"] = host["MemorySwappiness"]
    if host.get("OomKillDisable"):
        memory["disableOOMKiller"] = True
    if host.get("CpuShares"):
        cpu["shares"] = host["CpuShares"]
    if host.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = host["NanoCpus"] * 100000 // 10 ** 9
    else:
        if host.get("CpuPeriod"):
            cpu["period"] = host["CpuPeriod"]
        if host.get("CpuQuota"):
            cpu["quota"] = host["CpuQuota"]
    if host.get("CpusetCpus"):
        cpu["cpus"] = host["CpusetCpus"]
    if host.get("CpusetMems"):
        cpu["mems"] = host["CpusetMems"]
    out = {}
    if memory:
        out["memory"] = memory
    if cpu:
        out["cpu"] = cpu
    if host.get("PidsLimit"):
        out["pids"] = {"limit": host["PidsLimit"] if host["PidsLimit"] > 0 else -1}
    return out


def apply_rlimits(spec: dict, ulimits) -> None:
    """The default rlimits, clamped to the caller's hard limits (a runtime
    without CAP_SYS_RESOURCE cannot raise them), then the --ulimit ones."""
    from hakobune.engine.create import RLIMIT_NAMES, UNLIMITED, caller_hard_limit

    by_type = {}
    for rlimit in spec["process"].get("rlimits") or []:
        name = next(k for k, v in RLIMIT_NAMES.items() if v == rlimit["type"])
        ceiling = caller_hard_limit(name)
        by_type[rlimit["type"]] = {"type": rlimit["type"], "hard": min(rlimit["hard"], ceiling),
                                   "soft": min(rlimit["soft"], ceiling)}
    for entry in ulimits:
        kind = RLIMIT_NAMES[entry["Name"]]
        hard, soft = entry["Hard"], entry["Soft"]
        by_type[kind] = {"type": kind, "hard": UNLIMITED if hard < 0 else hard,
                         "soft": UNLIMITED if soft < 0 else soft}
    spec["process"]["rlimits"] = list(by_type.values())


def all_capabilities() -> list[str]:
    """Every capability this kernel knows (Docker's GetAllCapabilities) that
    the engine itself may pass on: those in its own bounding set (here, root
    lacks CAP_SYS_RESOURCE, and a runtime cannot grant what it has not)."""
    from hakobune.oci.capabilities import NAMES

    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = len(NAMES) - 1
    bounding = (1 << (last + 1)) - 1
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    bounding = int(line.split()[1], 16)
    except OSError:
        pass
    return [name for number, name in enumerate(NAMES[:last + 1]) if bounding & (1 << number)]


def _normal_capability(name: str) -> str:
    name = name.upper()
    return name if name == "ALL" or name.startswith("CAP_") else "CAP_" + name


def capabilities_of(host: dict, privileged: bool, defaults) -> list[str]:
    """Docker's TweakCapabilities."""
    if privileged:
        return all_capabilities()
    adds = [_normal_capability(c) for c in host.get("CapAdd") or ()]
    drops = [_normal_capability(c) for c in host.get("CapDrop") or ()]
    if not adds and not drops:
        return list(defaults)
    if "ALL" in adds:
        return [c for c in all_capabilities() if c not in drops]
    if "ALL" in drops:
        return [c for c in adds if c != "ALL"]
    caps = [c for c in defaults if c not in drops]
    return caps + [c for c in adds if c not in caps]


def apply_capabilities(spec: dict, host: dict, privileged: bool) -> list[str]:
    process = spec["process"]
    caps = capabilities_of(host, privileged, process["capabilities"]["bounding"])
    process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    return caps


def apply_seccomp(spec: dict, profile: str, privileged: bool, caps) -> None:
    """The default profile (for the container's capabilities), none
    (privileged, unconfined), or the profile the body carries."""
    linux = spec["linux"]
    if privileged or profile == "unconfined":
        linux.pop("seccomp", None)
        return
    if profile in ("", "builtin"):
        from hakobune.oci.seccomp_default import default_profile

        linux["seccomp"] = default_profile(caps)
        return
    linux["seccomp"] = seccomp_from_docker_profile(profile, caps)


_SECCOMP_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}


def seccomp_from_docker_profile(text: str, capabilities) -> dict:
    """A profile in Docker's format (archMap, includes/excludes by
    capability and architecture) as an OCI linux.seccomp."""
    import json

    try:
        profile = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"Decoding seccomp profile failed: {e}") from None
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise InvalidArgument("Decoding seccomp profile failed: no defaultAction")
    native = _SECCOMP_ARCHES.get(os.uname().machine, "SCMP_ARCH_X86_64")
    architectures = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            architectures = [native, *(entry.get("subArchitectures") or [])]
    result = {"defaultAction": profile["defaultAction"]}
    if "defaultErrnoRet" in profile:
        result["defaultErrnoRet"] = profile["defaultErrnoRet"]
    if architectures:
        result["architectures"] = architectures
    caps = set(capabilities)
    arch_words = {native.removeprefix("SCMP_ARCH_").lower(), os.uname().machine, "amd64"}
    syscalls = []
    for rule in profile.get("syscalls") or []:
        includes, excludes = rule.get("includes") or {}, rule.get("excludes") or {}
        if includes.get("caps") and not set(includes["caps"]) <= caps:
            continue
        if includes.get("arches") and not arch_words & set(includes["arches"]):
            continue
        if excludes.get("caps") and set(excludes["caps"]) & caps:
            continue
        if excludes.get("arches") and arch_words & set(excludes["arches"]):
            continue
        names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
        entry = {"names": names, "action": rule["action"]}
        for key in ("errnoRet", "args"):
            if rule.get(key) is not None:
                entry[key] = rule[key]
        syscalls.append(entry)
    result["syscalls"] = syscalls
    return result


def apply_privileged(spec: dict) -> None:
    """--privileged: no masks or read-only paths, /sys and the cgroups
    writable, every host device allowed and created."""
    linux = spec["linux"]
    linux["maskedPaths"] = []
    linux["readonlyPaths"] = []
    for mount in spec["mounts"]:
        if mount["destination"] in ("/sys", "/sys/fs/cgroup"):
            mount["options"] = [o for o in mount["options"] if o != "ro"] + ["rw"]
    devices = []
    for path in host_devices():
        device = device_of(path, path)
        if device is not None:
            devices.append(device)
    linux["devices"] = devices
    linux.setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]


_SKIPPED_DEV_DIRS = ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev")


def host_devices(top: str = "/dev") -> list[str]:
    import stat

    found = []
    for directory, subdirs, files in os.walk(top):
        if directory == top:
            subdirs[:] = [d for d in subdirs if d not in _SKIPPED_DEV_DIRS]
        for name in files:
            path = os.path.join(directory, name)
            if path == "/dev/console":
                continue
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                found.append(path)
    return sorted(found)


def device_of(host_path: str, container_path: str, access: str = "rwm") -> dict | None:
    import stat

    try:
        st = os.stat(host_path)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return {"path": container_path, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def apply_devices(spec: dict, mappings) -> None:
    """--device: each host device (or every device under a host directory)
    created in the container and allowed in its devices cgroup."""
    linux = spec["linux"]
    rules = linux.setdefault("resources", {}).setdefault("devices", [])
    for mapping in mappings:
        source, target = mapping["PathOnHost"], mapping.get("PathInContainer") or mapping["PathOnHost"]
        access = mapping.get("CgroupPermissions") or "rwm"
        if os.path.isdir(source):
            pairs = [(p, os.path.join(target, os.path.relpath(p, source))) for p in host_devices(source)]
        else:
            pairs = [(source, target)]
        for host_path, container_path in pairs:
            device = device_of(host_path, container_path)
            if device is None:
                reason = "not a device node" if os.path.exists(host_path) else "no such file or directory"
                raise InvalidArgument(f'error gathering device information while adding custom device '
                                      f'"{source}": {reason}')
            linux.setdefault("devices", []).append(device)
            rules.append({"allow": True, "type": device["type"], "major": device["major"],
                          "minor": device["minor"], "access": access})


def apply_namespaces(spec: dict, host: dict) -> None:
    linux = spec["linux"]
    ipc = host.get("IpcMode") or "private"
    dropped = set()
    if ipc == "host":
        dropped.add("ipc")
    if host.get("PidMode") == "host":
        dropped.add("pid")
    if host.get("UTSMode") == "host":
        dropped.add("uts")
        spec.pop("hostname", None)
    linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] not in dropped]
    mounts = []
    for mount in spec["mounts"]:
        if mount["destination"] == "/dev/shm":
            if ipc == "none":
                continue
            if ipc == "host":
                mount = {"destination": "/dev/shm", "type": "bind", "source": "/dev/shm",
                         "options": ["rbind", "nosuid", "noexec", "nodev"]}
            else:
                size = host.get("ShmSize") or 64 << 20
                mount = {**mount, "options": [o for o in mount["options"] if not o.startswith("size=")]
                         + [f"size={size}"]}
        mounts.append(mount)
    spec["mounts"] = mounts


def apply_init(spec: dict) -> None:
    """--init: Debian's tini-static, read-only at /sbin/docker-init, as PID 1."""
    if not os.path.exists(INIT_PATH):
        raise InvalidArgument(f"--init: no init binary at {INIT_PATH} (install Debian's tini package)")
    process = spec["process"]
    process["args"] = [INIT_IN_CONTAINER, "--", *process["args"]]
    spec["mounts"].append({"destination": INIT_IN_CONTAINER, "type": "bind", "source": INIT_PATH,
                           "options": ["bind", "ro"]})


def resolve_group(rootfs: str, group: str) -> int:
    """--group-add: a group name of the image's /etc/group, or a number."""
    for parts in _entries(_read_in_root(rootfs, "/etc/group"), 3):
        if parts[0] == group:
            return int(parts[2])
    if group.isdigit():
        return int(group)
    raise InvalidArgument(f"Unable to find group {group}: no matching entries in group file")
