"""What `create` decides: a container's Config and HostConfig from the
create body (POST /containers/create: Config fields at the top level, plus
HostConfig and NetworkingConfig, as the docker CLI sends them and as
`hakobune.cli.runopts` builds them) merged with the image's config, as
Docker's daemon merges them.

    container_config(body, image_config) -> Config of the record (inspect's "Config")
    host_config(body) -> HostConfig of the record, Docker's defaults filled in
"""

from __future__ import annotations

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
    if result["NetworkMode"] in ("", None):
        result["NetworkMode"] = "default"
    policy = result["RestartPolicy"]
    if policy["Name"] not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy '{policy['Name']}'")
    if policy["Name"] != "on-failure" and policy.get("MaximumRetryCount"):
        raise InvalidArgument(f"invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if result["AutoRemove"] and policy["Name"] != "no":
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
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
    for field in ("StopSignal", "StopTimeout", "Healthcheck"):
        value = body.get(field)
        if value not in (None, ""):
            config[field] = value
    if "StopSignal" not in config and image_config.stop_signal:
        config["StopSignal"] = image_config.stop_signal
    if "StopTimeout" not in config and image_config.stop_timeout is not None:
        config["StopTimeout"] = image_config.stop_timeout
    if "Healthcheck" not in config and image_config.healthcheck:
        from hakobune.oci.image_config import healthcheck_to_dict

        config["Healthcheck"] = healthcheck_to_dict(image_config.healthcheck)
    return config
