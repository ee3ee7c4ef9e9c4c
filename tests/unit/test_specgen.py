"""HostConfig → OCI spec, as Docker's daemon maps it (hakobune.engine.specgen)."""

import os
import resource

import pytest

from hakobune.engine import specgen
from hakobune.engine.create import check_ulimits, host_config, merge_healthcheck, rotation_of, runtime_path
from hakobune.errors import InvalidArgument
from hakobune.oci.capabilities import DOCKER_DEFAULTS
from hakobune.oci.image_config import Healthcheck


@pytest.fixture
def rootfs(tmp_path):
    etc = tmp_path / "rootfs" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nwheel:x:10:\n")
    return str(tmp_path / "rootfs")


def spec_of(rootfs, tmp_path, **host):
    record = {"Id": "a" * 64, "Config": {"Hostname": "h", "Cmd": ["sh"], "Env": []},
              "HostConfig": host_config({"HostConfig": host})}
    container_dir = tmp_path / "c"
    container_dir.mkdir(exist_ok=True)
    return specgen.generate(record, rootfs, str(container_dir))


def test_resources(rootfs, tmp_path):
    spec = spec_of(rootfs, tmp_path, Memory=64 << 20, MemoryReservation=32 << 20, NanoCpus=500_000_000,
                   CpuShares=512, CpusetCpus="0", PidsLimit=50, OomKillDisable=True)
    resources = spec["linux"]["resources"]
    assert resources["memory"] == {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20,
                                   "disableOOMKiller": True}
    assert resources["cpu"] == {"shares": 512, "period": 100000, "quota": 50000, "cpus": "0"}
    assert resources["pids"] == {"limit": 50}
    assert resources["devices"][0] == {"allow": False, "access": "rwm"}


def test_default_rlimits_never_exceed_the_callers_hard_limits(rootfs, tmp_path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    spec = spec_of(rootfs, tmp_path)
    for rlimit in spec["process"]["rlimits"]:
        assert rlimit["hard"] <= hard and rlimit["soft"] <= rlimit["hard"]
    spec = spec_of(rootfs, tmp_path, Ulimits=[{"Name": "nofile", "Soft": 100, "Hard": 200}])
    limits = {r["type"]: (r["soft"], r["hard"]) for r in spec["process"]["rlimits"]}
    assert limits["RLIMIT_NOFILE"] == (100, 200)
    unlimited = {"process": {"rlimits": []}}
    specgen.apply_rlimits(unlimited, [{"Name": "core", "Soft": -1, "Hard": -1}])
    assert unlimited["process"]["rlimits"] == [{"type": "RLIMIT_CORE", "hard": (1 << 64) - 1, "soft": (1 << 64) - 1}]


def test_a_ulimit_above_the_hard_limit_is_refused_without_cap_sys_resource():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    from hakobune.engine.create import can_raise_hard_limits

    if hard == resource.RLIM_INFINITY or can_raise_hard_limits():
        pytest.skip("this process may raise its hard limits")
    with pytest.raises(InvalidArgument, match="raising it needs CAP_SYS_RESOURCE"):
        check_ulimits([{"Name": "nofile", "Soft": hard + 1, "Hard": hard + 1}])
    check_ulimits([{"Name": "nofile", "Soft": hard, "Hard": hard}])


def test_capabilities_and_security(rootfs, tmp_path):
    spec = spec_of(rootfs, tmp_path, CapDrop=["ALL"], CapAdd=["CAP_NET_BIND_SERVICE"],
                   SecurityOpt=["no-new-privileges"], ReadonlyRootfs=True)
    assert spec["process"]["capabilities"]["effective"] == ["CAP_NET_BIND_SERVICE"]
    assert spec["process"]["noNewPrivileges"] is True and spec["root"]["readonly"] is True
    assert "seccomp" in spec["linux"]
    dropped = spec_of(rootfs, tmp_path, CapDrop=["CAP_CHOWN"], CapAdd=["NET_ADMIN"])
    caps = dropped["process"]["capabilities"]["bounding"]
    assert "CAP_CHOWN" not in caps and "CAP_NET_ADMIN" in caps and len(caps) == len(DOCKER_DEFAULTS)
    unconfined = spec_of(rootfs, tmp_path, SecurityOpt=["seccomp=unconfined"])
    assert "seccomp" not in unconfined["linux"]
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_BOGUS"'):
        host_config({"HostConfig": {"CapAdd": ["BOGUS"]}})


def test_docker_seccomp_profiles_are_converted(rootfs, tmp_path):
    profile = ('{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_X86_64",'
               '"subArchitectures":["SCMP_ARCH_X86"]}],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},'
               '{"names":["reboot"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_BOOT"]}}]}')
    seccomp = spec_of(rootfs, tmp_path, SecurityOpt=["seccomp=" + profile])["linux"]["seccomp"]
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert seccomp["syscalls"] == [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]


def test_privileged(rootfs, tmp_path):
    spec = spec_of(rootfs, tmp_path, Privileged=True)
    linux = spec["linux"]
    assert (linux["maskedPaths"], linux["readonlyPaths"], "seccomp" in linux) == ([], [], False)
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert any(d["path"] == "/dev/null" for d in linux["devices"])
    sysfs = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sysfs["options"]
    assert len(spec["process"]["capabilities"]["bounding"]) > len(DOCKER_DEFAULTS)


def test_init_devices_sysctls_namespaces_groups(rootfs, tmp_path):
    spec = spec_of(rootfs, tmp_path, Init=True, Devices=[{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n",
                                                          "CgroupPermissions": "r"}],
                   Sysctls={"net.ipv4.ip_forward": "1"}, IpcMode="host", UTSMode="host", ShmSize=8 << 20,
                   OomScoreAdj=100, GroupAdd=["wheel", "1234"])
    assert spec["process"]["args"] == ["/sbin/docker-init", "--", "sh"]
    assert {"destination": "/sbin/docker-init", "type": "bind", "source": "/usr/bin/tini-static",
            "options": ["bind", "ro"]} in spec["mounts"]
    device = next(d for d in spec["linux"]["devices"] if d["path"] == "/dev/n")
    assert (device["type"], device["major"], device["minor"]) == ("c", 1, 3)
    assert {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"} in spec["linux"]["resources"]["devices"]
    assert spec["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    assert "ipc" not in types and "uts" not in types and "pid" in types
    assert spec["process"]["oomScoreAdj"] == 100
    assert spec["process"]["user"]["additionalGids"] == [0, 10, 1234]  # the primary group first, as Docker
    private = spec_of(rootfs, tmp_path, ShmSize=8 << 20)
    shm = next(m for m in private["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={8 << 20}" in shm["options"]
    with pytest.raises(InvalidArgument, match='error gathering device information while adding custom device'):
        spec_of(rootfs, tmp_path, Devices=[{"PathOnHost": "/dev/nonexistent", "PathInContainer": "/dev/x",
                                            "CgroupPermissions": "rwm"}])


@pytest.mark.parametrize("host, message", [
    ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "Minimum memoryswap limit should be larger than memory limit"),
    ({"MemorySwap": 64 << 20}, "You should always set the Memory limit when using Memoryswap limit"),
    ({"NanoCpus": 10 ** 9, "CpuQuota": 50000}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"NanoCpus": 1000 * 10 ** 9}, "Range of CPUs is from 0.01 to"),
    ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
    ({"CpusetCpus": "a-b"}, "Invalid value a-b for cpuset cpus"),
    ({"CpusetCpus": "0-4095"}, "Requested CPUs are not available"),
    ({"OomScoreAdj": 2000}, "range for oom score adj is \\[-1000, 1000\\]"),
    ({"LogConfig": {"Type": "syslog"}}, "logger: no log driver named 'syslog' is registered"),
    ({"LogConfig": {"Type": "json-file", "Config": {"bogus": "1"}}}, "unknown log opt 'bogus' for json-file"),
    ({"LogConfig": {"Type": "json-file", "Config": {"max-file": "0"}}}, "max-file cannot be less than 1"),
    ({"LogConfig": {"Type": "none", "Config": {"max-size": "1m"}}}, "invalid logging opts for driver none"),
    ({"Runtime": "bogus"}, "unknown or invalid runtime name: bogus"),
    ({"SecurityOpt": ["foo=bar"]}, 'invalid --security-opt 2: "foo=bar"'),
    ({"IpcMode": "host", "Sysctls": {"kernel.shmmax": "1"}}, "not allowed in host IPC namespace"),
    ({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}, "maximum retry count cannot be negative"),
])
def test_daemon_checks(host, message):
    with pytest.raises(InvalidArgument, match=message):
        host_config({"HostConfig": host})


def test_host_config_normalizes_as_docker_does():
    host = host_config({"HostConfig": {"Memory": 64 << 20, "PidsLimit": 0, "MemorySwappiness": -1,
                                       "LogConfig": {"Type": "", "Config": {"max-size": "1m"}}}})
    assert (host["MemorySwap"], host["PidsLimit"], host["MemorySwappiness"]) == (128 << 20, None, None)
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}


def test_log_rotation_defaults():
    assert rotation_of({"Type": "json-file", "Config": {}}) == (20 << 20, 5)
    assert rotation_of({"Type": "json-file", "Config": {"max-size": "1m"}}) == (1000000, 1)
    assert rotation_of({"Type": "json-file", "Config": {"max-size": "10k", "max-file": "3"}}) == (10000, 3)


def test_healthcheck_merge_with_the_images():
    image = Healthcheck(["CMD", "true"], interval=10**9, retries=2)
    assert merge_healthcheck(None, image) == {"Test": ["CMD", "true"], "Interval": 10**9, "Retries": 2}
    assert merge_healthcheck({"Interval": 5 * 10**9}, image) == {"Test": ["CMD", "true"], "Interval": 5 * 10**9,
                                                                  "Retries": 2}
    assert merge_healthcheck({"Test": ["NONE"]}, image)["Test"] == ["NONE"]


def test_monitor_spec_of_a_record(tmp_path):
    record = {"Id": "b" * 64, "Config": {"Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 10**9}},
              "HostConfig": host_config({"HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                                                          "MaximumRetryCount": 2},
                                                        "LogConfig": {"Type": "none", "Config": {}}}})}
    spec = specgen.monitor_spec_of(record, str(tmp_path), str(tmp_path / "s"), str(tmp_path / "log"), "/run/x")
    assert (str(spec.restart), spec.log_path, spec.runtime_root) == ("on-failure:2", "", "/run/x/runtime")
    assert spec.health == {"test": ["CMD-SHELL", "true"], "interval": 1.0, "timeout": 0.0, "start_period": 0.0,
                           "start_interval": 0.0, "retries": 0}
    assert os.path.basename(runtime_path("hakobune-runtime")) == "hakobune-runtime"
