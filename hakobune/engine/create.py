"""What `create` decides: a container's Config and HostConfig from the
create body (POST /containers/create: Config fields at the top level, plus
HostConfig and NetworkingConfig, as the docker CLI sends them and as
`hakobune.createbody.runopts` builds them) merged with the image's config, as
Docker's daemon merges them.

    container_config(body, image_config) -> Config of the record (inspect's "Config")
    host_config(body) -> HostConfig of the record, Docker's defaults filled in
"""

from __future__ import annotations

import os

from hakobune.errors import InvalidArgument

DEFAULT_SHM_SIZE = 64 << 20

# inspect's HostConfig for a container created with no options (Docker 20.10's
# answer, recorded in shared/reference/engine-api/docker-inspect-container.md).
_HOST_CONFIG_DEFAULTS = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
    "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
    "UTSMode": "", "UsernsMode": "", "ShmSize": DEFAULT_SHM_SIZE, "Runtime": "hakobune-runtime",
    "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
    "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0,
    "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
    "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None, "KernelMemory": 0,
    "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
    "OomKillDisable": False, "PidsLimit": None, "Ulimits": [], "CpuCount": 0, "CpuPercent": 0,
    "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None, "ReadonlyPaths": None,
}

# Fields a client may leave out or send as their zero value, and what the
# daemon records instead.
_ZERO_MEANS_DEFAULT = ("LogConfig", "ShmSize", "Runtime", "IpcMode", "CgroupnsMode", "RestartPolicy")


def host_config(body: dict) -> dict:
    """The record's HostConfig: the body's, over Docker's defaults."""
    given = body.get("HostConfig") or {}
    if not isinstance(given, dict):
        raise InvalidArgument("HostConfig must be an object")
    result = {**_HOST_CONFIG_DEFAULTS, **given}
    for field in _ZERO_MEANS_DEFAULT:
        if not given.get(field) or (field == "LogConfig" and not given[field].get("Type")) or (
                field == "RestartPolicy" and not given[field].get("Name")):
            result[field] = _copy(_HOST_CONFIG_DEFAULTS[field])
    given_log = given.get("LogConfig") or {}
    if not given_log.get("Type") and given_log.get("Config"):
        result["LogConfig"] = {"Type": "json-file", "Config": dict(given_log["Config"])}
    if result["NetworkMode"] in ("", None):
        result["NetworkMode"] = "default"
    policy = result["RestartPolicy"]
    if policy["Name"] not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy '{policy['Name']}'")
    if policy["Name"] != "on-failure" and policy.get("MaximumRetryCount"):
        raise InvalidArgument(f"invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if policy.get("MaximumRetryCount", 0) < 0:
        raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    if result["AutoRemove"] and policy["Name"] != "no":
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    _normalize_resources(result)
    check_resources(result)
    _check_security(result)
    _check_namespaces(result)
    check_ulimits(result.get("Ulimits") or [])
    check_log_config(result["LogConfig"])
    runtime_path(result["Runtime"])
    return result


def _copy(value):
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()} if isinstance(value, dict) \
        else value


def container_config(body: dict, image_config, image_ref: str) -> dict:
    """The record's Config: the body's fields merged with the image's
    (image_config is hakobune.oci.image_config's run config), as Docker's
    daemon merges them: the image's Cmd only when neither Cmd nor Entrypoint
    is given, its Entrypoint when none is given ([""] clears it), Env with
    the body's entries winning, Labels, ExposedPorts and Volumes united."""
    entrypoint = body.get("Entrypoint")
    cmd = body.get("Cmd") or None
    if isinstance(entrypoint, str):
        entrypoint = [entrypoint]
    if isinstance(cmd, str):
        cmd = ["/bin/sh", "-c", cmd]
    if entrypoint is None or entrypoint == []:
        entrypoint = list(image_config.entrypoint) if image_config.entrypoint else None
        if cmd is None and image_config.cmd:
            cmd = list(image_config.cmd)
    elif entrypoint == [""]:
        entrypoint = None
    workdir = body.get("WorkingDir") or ""
    if workdir and not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, it needs to be an absolute path")
    user = body.get("User")
    exposed = {**{p: {} for p in image_config.exposed_ports or ()},
               **(body.get("ExposedPorts") or {})}
    volumes = {**{v: {} for v in image_config.volumes or ()}, **(body.get("Volumes") or {})}
    attach_stdin = bool(body.get("AttachStdin"))
    config = {
        "Hostname": body.get("Hostname") or "", "Domainname": body.get("Domainname") or "",
        "User": user if user else (image_config.user or ""),
        "AttachStdin": attach_stdin, "AttachStdout": bool(body.get("AttachStdout")),
        "AttachStderr": bool(body.get("AttachStderr")),
        "Tty": bool(body.get("Tty")), "OpenStdin": bool(body.get("OpenStdin")),
        "StdinOnce": bool(body.get("StdinOnce")),
        "Env": list(body.get("Env") or []), "Cmd": cmd, "Image": image_ref,
        "Volumes": volumes or None, "WorkingDir": workdir or image_config.working_dir or "",
        "Entrypoint": entrypoint, "OnBuild": None,
        "Labels": {**dict(image_config.labels or {}), **(body.get("Labels") or {})},
    }
    if exposed:
        config["ExposedPorts"] = exposed
    for field in ("StopSignal", "StopTimeout", "MacAddress"):
        value = body.get(field)
        if value not in (None, ""):
            config[field] = value
    health = merge_healthcheck(body.get("Healthcheck"), image_config.healthcheck)
    if health is not None:
        check_healthcheck(health)
        config["Healthcheck"] = health
    if "StopSignal" not in config and image_config.stop_signal:
        config["StopSignal"] = image_config.stop_signal
    if "StopTimeout" not in config and image_config.stop_timeout is not None:
        config["StopTimeout"] = image_config.stop_timeout
    return config


# --- health checks -------------------------------------------------------------------

_HEALTH_FIELDS = ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")


def merge_healthcheck(given: dict | None, image_check) -> dict | None:
    """Docker's merge: the body's Healthcheck over the image's, field by
    field (an empty Test or a zero duration takes the image's)."""
    from hakobune.oci.image_config import healthcheck_to_dict

    image = healthcheck_to_dict(image_check) if image_check else None
    if given is None:
        return image
    if not isinstance(given, dict):
        raise InvalidArgument("Healthcheck must be an object")
    merged = {k: v for k, v in given.items() if v not in (None, 0, [])}
    if image:
        for key in ("Test", *_HEALTH_FIELDS):
            if not merged.get(key) and image.get(key):
                merged[key] = image[key]
    return merged


def check_healthcheck(health: dict) -> None:
    test = health.get("Test") or []
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise InvalidArgument(f"unknown health check type {test[0]!r}: use NONE, CMD or CMD-SHELL")
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        value = health.get(key) or 0
        if value < 0:
            raise InvalidArgument(f"{key} in Healthcheck cannot be negative")
        if value and value < 1_000_000:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    if (health.get("Retries") or 0) < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")


# --- resources (Docker's verifyPlatformContainerResources) --------------------------------

MIN_MEMORY = 6 << 20


def _normalize_resources(host: dict) -> None:
    """What Docker's daemon adapts before storing: swap twice the memory by
    default (this kernel accounts swap), no pids limit for 0 or less."""
    if host.get("Memory", 0) > 0 and not host.get("MemorySwap"):
        host["MemorySwap"] = host["Memory"] * 2
    if host.get("PidsLimit") is not None and host["PidsLimit"] <= 0:
        host["PidsLimit"] = None
    if host.get("MemorySwappiness") == -1:
        host["MemorySwappiness"] = None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except OSError:
        return os.cpu_count() or 1


def check_resources(resources: dict, update: bool = False) -> None:
    """Docker's checks of memory, CPU and cpuset values (the same for create and update)."""
    if ".." in str(resources.get("CgroupParent") or "").split("/"):
        raise InvalidArgument(f"invalid cgroup parent {resources['CgroupParent']!r}: '..' is not allowed")
    memory = resources.get("Memory") or 0
    swap = resources.get("MemorySwap") or 0
    reservation = resources.get("MemoryReservation") or 0
    if memory and memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if memory > 0 and 0 < swap < memory:
        raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
    if not memory and swap > 0 and not update:
        raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
    if reservation and reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise InvalidArgument("Minimum memory limit can not be less than memory reservation limit, see usage")
    nano = resources.get("NanoCpus") or 0
    period = resources.get("CpuPeriod") or 0
    quota = resources.get("CpuQuota") or 0
    if nano > 0 and period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    cpus = cpu_count()
    if nano < 0 or nano > cpus * 10 ** 9:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available")
    if period and not 1000 <= period <= 1000000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    _check_cpuset(resources.get("CpusetCpus") or "", "cpus", "CPUs")
    _check_cpuset(resources.get("CpusetMems") or "", "mems", "memory nodes")
    adjustment = resources.get("OomScoreAdj") or 0
    if not -1000 <= adjustment <= 1000:
        raise InvalidArgument(f"Invalid value {adjustment}, range for oom score adj is [-1000, 1000]")
    if (resources.get("ShmSize") or 0) < 0:
        raise InvalidArgument("SHM size can not be less than 0")


def parse_cpuset(text: str) -> set[int] | None:
    """"0-2,4" → {0, 1, 2, 4}; None when malformed."""
    members: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            return None
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            return None
        members.update(range(first, last + 1))
    return members


def _check_cpuset(text: str, kind: str, what: str) -> None:
    if not text:
        return
    wanted = parse_cpuset(text)
    if wanted is None:
        raise InvalidArgument(f"Invalid value {text} for cpuset {kind}")
    try:
        with open(f"/sys/fs/cgroup/cpuset/cpuset.{kind}") as f:
            available_text = f.read().strip()
    except OSError:
        return
    available = parse_cpuset(available_text) or set()
    if not wanted <= available:
        raise InvalidArgument(f"Requested {what} are not available - requested {text}, available: {available_text}")


# --- security and namespaces ---------------------------------------------------------

def _check_security(host: dict) -> None:
    from hakobune.oci.capabilities import NAMES

    for field in ("CapAdd", "CapDrop"):
        for name in host.get(field) or ():
            normal = name.upper() if name.upper() == "ALL" or name.upper().startswith("CAP_") \
                else "CAP_" + name.upper()
            if normal != "ALL" and normal not in NAMES:
                raise InvalidArgument(f'invalid {field}: unknown capability: "{normal}"')
    security_settings(host.get("SecurityOpt") or [])


def security_settings(options) -> dict:
    """Docker's parseSecurityOpt: no_new_privileges, seccomp, apparmor, labels."""
    settings = {"no_new_privileges": False, "seccomp": "", "apparmor": "", "labels": []}
    for option in options:
        if option == "no-new-privileges":
            settings["no_new_privileges"] = True
            continue
        if option == "disable":
            settings["labels"].append("disable")
            continue
        if "=" in option:
            key, _, value = option.partition("=")
        elif ":" in option:
            key, _, value = option.partition(":")
        else:
            raise InvalidArgument(f'invalid --security-opt 1: "{option}"')
        if key == "label":
            settings["labels"].append(value)
        elif key == "apparmor":
            settings["apparmor"] = value
        elif key == "seccomp":
            settings["seccomp"] = value
        elif key == "no-new-privileges":
            if value.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise InvalidArgument(f'invalid --security-opt 2: "{option}"')
            settings["no_new_privileges"] = value.lower() in ("1", "t", "true")
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{option}"')
    return settings


_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def _check_namespaces(host: dict) -> None:
    ipc, pid, uts = host.get("IpcMode") or "private", host.get("PidMode") or "", host.get("UTSMode") or ""
    if ipc not in ("host", "private", "none", "shareable"):
        if ipc.startswith("container:"):
            raise InvalidArgument("--ipc container:<name> is not supported yet")
        raise InvalidArgument(f"invalid IPC mode: {ipc}")
    if pid not in ("", "host"):
        if pid.startswith("container:"):
            raise InvalidArgument("--pid container:<name> is not supported yet")
        raise InvalidArgument(f"invalid PID mode: {pid}")
    if uts not in ("", "host"):
        raise InvalidArgument(f"invalid UTS mode: {uts}")
    for key in host.get("Sysctls") or {}:
        if key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
            if ipc == "host":
                raise InvalidArgument(f'sysctl "{key}" not allowed in host IPC namespace')
        elif key in ("kernel.domainname", "kernel.hostname"):
            if uts == "host":
                raise InvalidArgument(f'sysctl "{key}" not allowed in host UTS namespace')
        elif not key.startswith("net."):
            raise InvalidArgument(f"sysctl '{key}' is not allowed")


# --- ulimits ---------------------------------------------------------------------------

RLIMIT_NAMES = {"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
                "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
                "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS",
                "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
                "stack": "RLIMIT_STACK"}
UNLIMITED = (1 << 64) - 1


def can_raise_hard_limits() -> bool:
    """Whether this process holds CAP_SYS_RESOURCE (the runtime it starts has the same)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 24))
    except OSError:
        pass
    return os.geteuid() == 0


def caller_hard_limit(name: str) -> int:
    """The caller's hard limit of `name` (Docker's ulimit name), UNLIMITED for infinity."""
    import resource

    hard = resource.getrlimit(getattr(resource, RLIMIT_NAMES[name]))[1]
    return UNLIMITED if hard == resource.RLIM_INFINITY else hard


def check_ulimits(ulimits) -> None:
    """Each {Name, Soft, Hard}: a known name, soft <= hard, and a hard limit
    the runtime can set: above the caller's own hard limit only with CAP_SYS_RESOURCE."""
    privileged = None
    for entry in ulimits:
        name = entry.get("Name")
        if name not in RLIMIT_NAMES:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        soft, hard = _limit(entry.get("Soft")), _limit(entry.get("Hard"))
        if soft > hard:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
        ceiling = caller_hard_limit(name)
        if hard > ceiling:
            if privileged is None:
                privileged = can_raise_hard_limits()
            if not privileged:
                shown = "unlimited" if hard == UNLIMITED else hard
                raise InvalidArgument(f"ulimit {name}: hard limit {shown} is above this host's hard limit {ceiling}, "
                                      f"and raising it needs CAP_SYS_RESOURCE, which the engine lacks")


def _limit(value) -> int:
    value = int(value if value is not None else 0)
    return UNLIMITED if value < 0 else value


# --- logging and runtimes ---------------------------------------------------------------

LOG_DRIVERS = ("json-file", "none")
_JSON_FILE_OPTS = ("max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag")


def check_log_config(log_config: dict) -> None:
    driver = log_config.get("Type")
    options = log_config.get("Config") or {}
    if driver not in LOG_DRIVERS:
        raise InvalidArgument(f"logger: no log driver named '{driver}' is registered")
    if driver == "none":
        if options:
            raise InvalidArgument(f"invalid logging opts for driver {driver}")
        return
    for key in options:
        if key not in _JSON_FILE_OPTS:
            raise InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
    rotation_of(log_config)


# Logs rotate by default: 5 files of 20 MB (the defaults of Docker's own
# `local` driver).  A container's log then never exceeds 100 MB, and `logs`
# still has a long history; a chatty container rotates every 20 MB, so
# reading across files stays rare and cheap.
DEFAULT_LOG_MAX_SIZE = 20 << 20
DEFAULT_LOG_MAX_FILE = 5


def rotation_of(log_config: dict) -> tuple[int, int]:
    """(max size in bytes or 0 for no limit, max files) of a json-file log:
    the options given (Docker's semantics: max-file defaults to 1 once
    max-size is set), or hakobune's default rotation when neither is."""
    options = log_config.get("Config") or {}
    size_text, files_text = options.get("max-size"), options.get("max-file")
    if size_text is None and files_text is None:
        return DEFAULT_LOG_MAX_SIZE, DEFAULT_LOG_MAX_FILE
    max_size = DEFAULT_LOG_MAX_SIZE
    if size_text is not None:
        max_size = human_size(size_text)
        if max_size <= 0:
            raise InvalidArgument("max-size must be a positive number")
    max_file = 1 if size_text is not None else DEFAULT_LOG_MAX_FILE
    if files_text is not None:
        try:
            max_file = int(files_text)
        except ValueError:
            raise InvalidArgument(f'strconv.Atoi: parsing "{files_text}": invalid syntax') from None
        if max_file < 1:
            raise InvalidArgument("max-file cannot be less than 1")
    return max_size, max_file


def human_size(text: str) -> int:
    """Docker's decimal sizes (units.FromHumanSize): "10m" is 10,000,000 bytes."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kKmMgGtTpP]?)(?:[iI]?[bB])?\s*", text or "")
    if not match:
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(float(match.group(1)) * 1000 ** " kmgtp".index(match.group(2).lower() or " "))


DEFAULT_RUNTIME = "hakobune-runtime"


def runtime_path(name: str) -> str:
    """The executable of a runtime: hakobune-runtime, runc, crun, or an absolute path."""
    if name in ("", DEFAULT_RUNTIME):
        from hakobune.monitor.spec import default_runtime

        return default_runtime()
    import shutil  # here: not for the default runtime (every `run`)

    if name in ("runc", "crun"):
        found = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin:/usr/bin")
        if found:
            return found
    elif name.startswith("/") and os.access(name, os.X_OK) and os.path.isfile(name):
        return name
    raise InvalidArgument(f"unknown or invalid runtime name: {name}")
