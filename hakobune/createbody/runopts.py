"""`run` and `create` flags → Docker's create body (POST /containers/create),
as the docker CLI builds it: top-level Config fields, HostConfig and
NetworkingConfig.  The engine takes that body (hakobune.engine.create), so
the CLI and the API create containers the same way.

    body_of(opts, image, command, detach=False) -> dict

What the docker CLI checks itself (before any request) is checked here and
raised as OptionError, which the CLI prints as `hakobune: <message>` with
the usage hint and exit status 125; what Docker's daemon checks is left to
hakobune.engine.create.  Flag values themselves (sizes, durations, ulimits,
sysctls) are converted by the flag kinds of hakobune.createbody.kinds.
"""

import os

from hakobune.errors import InvalidArgument

_WHITESPACE = " \t"
_DEVICE_MODES = set("rwm")


class OptionError(InvalidArgument):
    """An error the docker CLI reports itself (not the daemon's answer)."""

    client_side = True


def body_of(opts, image: str, command: list[str], detach: bool = False) -> dict:
    interactive = bool(opts.interactive)
    attach = not detach
    entrypoint = None
    if opts.changed("entrypoint"):
        entrypoint = [opts.entrypoint] if opts.entrypoint else [""]
    env = read_kv_files(_get(opts, "env_file", []), environment=True) + list(opts.env or ())
    labels = read_kv_files(_get(opts, "label_file", []), environment=False) + list(_get(opts, "label", []))
    body = {
        "Hostname": opts.hostname or "", "Domainname": "", "User": opts.user or "",
        "AttachStdin": interactive and attach, "AttachStdout": attach, "AttachStderr": attach,
        "Tty": bool(opts.tty), "OpenStdin": interactive, "StdinOnce": interactive and attach,
        "Env": expand_env(env) or None, "Cmd": list(command) or None, "Image": image,
        "Volumes": {}, "WorkingDir": opts.workdir or "", "Entrypoint": entrypoint, "OnBuild": None,
        "Labels": labels_map(labels),
    }
    health = healthcheck_of(opts)
    if health is not None:
        body["Healthcheck"] = health
    if _get(opts, "stop_signal", ""):
        body["StopSignal"] = opts.stop_signal
    if opts.changed("stop-timeout"):
        body["StopTimeout"] = opts.stop_timeout
    body["HostConfig"] = host_config_of(opts)
    body["NetworkingConfig"] = {"EndpointsConfig": {}}
    from hakobune.createbody import netopts  # networks (issue 6): NetworkMode, ports, DNS, endpoints

    netopts.apply(opts, body)
    from hakobune.createbody.mounts import apply_mount_flags  # volumes (issue 5): Binds, Mounts, Tmpfs, VolumesFrom

    apply_mount_flags(body, opts)
    return body


def _get(opts, name: str, default):
    """A flag's value, or `default` for a flag this command does not declare."""
    return getattr(opts, name, default)


def host_config_of(opts) -> dict:
    """HostConfig with every field the docker CLI sends, in its order."""
    restart = restart_policy_of(_get(opts, "restart", "no"))
    auto_remove = bool(_get(opts, "rm", False))
    if auto_remove and restart["Name"] not in ("", "no"):
        raise OptionError("conflicting options: cannot specify both --restart and --rm")
    cap_add, cap_drop = effective_capabilities(_get(opts, "cap_add", []), _get(opts, "cap_drop", []))
    ipc, pid, uts = _get(opts, "ipc", ""), _get(opts, "pid", ""), _get(opts, "uts", "")
    _check_namespace_modes(ipc, pid, uts)
    ulimits = _get(opts, "ulimit", {})
    host = {
        "Binds": None, "ContainerIDFile": "",
        "LogConfig": logging_of(_get(opts, "log_driver", ""), _get(opts, "log_opt", [])),
        "NetworkMode": "default", "PortBindings": {},
        "RestartPolicy": restart, "AutoRemove": auto_remove, "VolumeDriver": "", "VolumesFrom": None,
        "ConsoleSize": [0, 0], "CapAdd": cap_add, "CapDrop": cap_drop, "CgroupnsMode": "",
        "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "GroupAdd": list(_get(opts, "group_add", [])) or None, "IpcMode": ipc, "Cgroup": "", "Links": None,
        "OomScoreAdj": _get(opts, "oom_score_adj", 0), "PidMode": pid,
        "Privileged": bool(_get(opts, "privileged", False)), "PublishAllPorts": False,
        "ReadonlyRootfs": bool(_get(opts, "read_only", False)),
        "SecurityOpt": security_options(_get(opts, "security_opt", [])) or None,
        "UTSMode": uts, "UsernsMode": "", "ShmSize": _get(opts, "shm_size", 0), "Isolation": "",
        "CpuShares": _get(opts, "cpu_shares", 0), "Memory": _get(opts, "memory", 0),
        "NanoCpus": _get(opts, "cpus", 0), "CgroupParent": _get(opts, "cgroup_parent", ""), "BlkioWeight": 0, "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [], "CpuPeriod": _get(opts, "cpu_period", 0),
        "CpuQuota": _get(opts, "cpu_quota", 0), "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
        "CpusetCpus": _get(opts, "cpuset_cpus", ""), "CpusetMems": _get(opts, "cpuset_mems", ""),
        "Devices": [device_mapping(text) for text in _get(opts, "device", [])],
        "DeviceCgroupRules": None, "DeviceRequests": None,
        "MemoryReservation": _get(opts, "memory_reservation", 0), "MemorySwap": _get(opts, "memory_swap", 0),
        "MemorySwappiness": -1, "OomKillDisable": bool(_get(opts, "oom_kill_disable", False)),
        "PidsLimit": _get(opts, "pids_limit", 0),
        "Ulimits": [u.to_api() for u in ulimits.values()], "CpuCount": 0, "CpuPercent": 0,
        "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None, "ReadonlyPaths": None,
    }
    sysctls = _get(opts, "sysctl", {})
    if sysctls:
        host["Sysctls"] = dict(sysctls)
    if opts.changed("init"):
        host["Init"] = bool(opts.init)
    if _get(opts, "runtime", ""):
        host["Runtime"] = opts.runtime
    return host


# --- environment and labels -------------------------------------------------------

def expand_env(entries) -> list[str]:
    """`-e NAME` takes NAME's value from the caller's environment (dropped if unset)."""
    out = []
    for entry in entries or ():
        if "=" in entry:
            out.append(entry)
        elif entry in os.environ:
            out.append(f"{entry}={os.environ[entry]}")
    return out


def read_kv_files(paths, environment: bool) -> list[str]:
    """--env-file / --label-file: KEY=VALUE lines, `#` comments and blank
    lines skipped; a bare KEY in an env file takes the caller's value."""
    out = []
    for path in paths or ():
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise OptionError(f"open {path}: {(e.strerror or str(e)).lower()}") from None
        out += _kv_lines(path, data, environment)
    return out


def _kv_lines(path: str, data: bytes, environment: bool) -> list[str]:
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise OptionError(f"env file {path} contains invalid utf8 bytes at line {number}") from None
        line = text.rstrip("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.lstrip(_WHITESPACE)
        if any(c in name for c in _WHITESPACE):
            raise OptionError(f"poorly formatted environment: variable '{name}' contains whitespaces")
        if not name:
            raise OptionError(f"poorly formatted environment: no variable name on line '{line}'")
        if equals:
            out.append(f"{name}={value}")
        elif environment and name.strip() in os.environ:
            out.append(f"{name.strip()}={os.environ[name.strip()]}")
        else:
            out.append(name)
    return out


def labels_map(entries) -> dict:
    labels = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        labels[key] = value
    return labels


# --- restart, health, logging -----------------------------------------------------

def restart_policy_of(text: str) -> dict:
    """docker's --restart: no | always | unless-stopped | on-failure[:N]."""
    if not text:
        return {"Name": "", "MaximumRetryCount": 0}
    name, colon, count = text.partition(":")
    if colon and not name:
        raise OptionError("invalid restart policy format: no policy provided before colon")
    maximum = 0
    if count:
        try:
            maximum = int(count, 10)
        except ValueError:
            raise OptionError("invalid restart policy format: maximum retry count must be an integer") from None
    return {"Name": name, "MaximumRetryCount": maximum}


_HEALTH_DURATIONS = (("health_interval", "Interval", "--health-interval"),
                     ("health_timeout", "Timeout", "--health-timeout"),
                     ("health_start_period", "StartPeriod", "--health-start-period"),
                     ("health_start_interval", "StartInterval", "--health-start-interval"))


def healthcheck_of(opts) -> dict | None:
    """Config.Healthcheck as the docker CLI sends it (durations in
    nanoseconds, zero fields left out); None when no health flag is given."""
    command = _get(opts, "health_cmd", "")
    retries = _get(opts, "health_retries", 0)
    durations = {key: _get(opts, dest, 0) for dest, key, _ in _HEALTH_DURATIONS}
    given = bool(command) or bool(retries) or any(durations.values())
    if _get(opts, "no_healthcheck", False):
        if given:
            raise OptionError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    for dest, key, flag in _HEALTH_DURATIONS:
        if durations[key] < 0:
            raise OptionError(f"{flag} cannot be negative")
    if retries < 0:
        raise OptionError("--health-retries cannot be negative")
    health = {}
    if command:
        health["Test"] = ["CMD-SHELL", command]
    for _, key, _ in _HEALTH_DURATIONS:
        if durations[key]:
            health[key] = durations[key]
    if retries:
        health["Retries"] = retries
    return health


def logging_of(driver: str, options) -> dict:
    config = {}
    for entry in options or ():
        key, _, value = entry.partition("=")
        config[key] = value
    if driver == "none" and options:
        raise OptionError(f"invalid logging opts for driver {driver}")
    return {"Type": driver, "Config": config}


# --- security --------------------------------------------------------------------

def _normalize_capability(name: str) -> str:
    name = name.strip().upper()
    if name != "ALL" and not name.startswith("CAP_"):
        name = "CAP_" + name
    return name


def effective_capabilities(add, drop) -> tuple[list | None, list | None]:
    """docker's EffectiveCapAddCapDrop: CAP_ prefixed, ALL wins, a capability
    both added and dropped is dropped from the additions."""
    adds = {_normalize_capability(c) for c in add or () if c.strip()}
    drops = {_normalize_capability(c) for c in drop or () if c.strip()}
    if "ALL" in adds:
        cap_add = ["ALL"]
    else:
        cap_add = sorted(adds - drops)
    if "ALL" in drops:
        cap_drop = ["ALL"]
    else:
        cap_drop = sorted(drops - adds) if "ALL" not in adds else sorted(drops)
    return cap_add or None, cap_drop or None


def security_options(options) -> list[str]:
    """docker's parseSecurityOpts: key=value (or the legacy key:value);
    seccomp=FILE sends the profile's compacted JSON."""
    out = []
    for option in options or ():
        key, sep, value = option.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = option.partition(":")
        if (not sep or not value) and key != "no-new-privileges":
            raise OptionError(f'Invalid --security-opt: "{option}"')
        if key == "seccomp" and value not in ("builtin", "unconfined"):
            option = "seccomp=" + _compact_profile(value)
        out.append(option)
    return out


def _compact_profile(path: str) -> str:
    import json

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise OptionError(f"opening seccomp profile ({path}) failed: open {path}: "
                          f"{(e.strerror or str(e)).lower()}") from None
    try:
        return json.dumps(json.loads(data), separators=(",", ":"))
    except ValueError as e:
        raise OptionError(f"compacting json for seccomp profile ({path}) failed: {e}") from None


def _check_namespace_modes(ipc: str, pid: str, uts: str) -> None:
    if ipc and ipc not in ("host", "private", "none", "shareable") and not ipc.startswith("container:"):
        raise OptionError("--ipc: invalid IPC mode")
    if pid and pid != "host" and not pid.startswith("container:"):
        raise OptionError("--pid: invalid PID mode")
    if uts and uts != "host":
        raise OptionError("--uts: invalid UTS mode")


# --- devices -------------------------------------------------------------------------

def device_mapping(text: str) -> dict:
    """--device /dev/x[:/dev/y][:rwm] → HostConfig.Devices' entry."""
    parts = text.split(":")
    if len(parts) > 3:
        raise OptionError(f"invalid device specification: {text}")
    source, target, mode = parts[0], "", "rwm"
    if len(parts) == 3:
        target, mode = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1] and set(parts[1]) <= _DEVICE_MODES and len(parts[1]) <= 3:
            mode = parts[1]
        else:
            target = parts[1]
    if not mode or not set(mode) <= _DEVICE_MODES or len(mode) > 3:
        raise OptionError(f"bad mode specified: {mode}")
    target = target or source
    for path in (source, target):
        if not path.startswith("/"):
            raise OptionError(f"{path} is not an absolute path")
    return {"PathOnHost": source, "PathInContainer": target, "CgroupPermissions": mode}
