"""`run` flags seen from inside real containers: cgroup limits, rlimits,
capabilities, seccomp, a read-only root, --privileged, --init, devices,
sysctls, /dev/shm, namespaces, --runtime, restart policies, and `update`
changing a running container's cgroup; bad values give Docker's errors
with exit status 125."""

import os
import re
import resource
import shutil
import time

import pytest

from cli_store import cgroups_of, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

CGROUP = "/sys/fs/cgroup"


def host_cgroup(container_id: str, controller: str, name: str) -> str:
    with open(os.path.join(CGROUP, controller, "hakobune", container_id, name)) as f:
        return f.read().strip()


def capabilities(status_text: str, field: str = "CapEff") -> int:
    return int(re.search(rf"{field}:\s*([0-9a-f]+)", status_text).group(1), 16)


def wait_for(predicate, timeout=15.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def test_resource_limits_inside_and_on_the_host(hk):
    out = hk.ok("run", "--rm", "-m", "64m", "--memory-reservation", "32m", "--cpus", "0.5", "-c", "512",
                "--cpuset-cpus", "0", "--pids-limit", "50", "busybox", "sh", "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes "
                "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
                "/sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max")
    assert out.split() == [str(64 << 20), str(128 << 20), str(32 << 20), "50000", "512", "0", "50"]


def test_record_shows_docker_fields(hk):
    container_id = hk.ok("create", "-m", "64m", "--cpus", "1.5", "--ulimit", "nofile=100:200", "--restart",
                         "on-failure:3", "-l", "a=b", "--stop-timeout", "4", "--health-cmd", "true",
                         "--health-interval", "2s", "busybox", "true").strip()
    fmt = ("{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{json .HostConfig.Ulimits}} "
           "{{json .HostConfig.RestartPolicy}} {{json .Config.Labels}} {{.Config.StopTimeout}} "
           "{{json .Config.Healthcheck}} {{json .HostConfig.LogConfig}}")
    assert hk.ok("inspect", "-f", fmt, container_id).strip() == (
        f'{64 << 20} {128 << 20} 1500000000 [{{"Name":"nofile","Hard":200,"Soft":100}}] '
        '{"Name":"on-failure","MaximumRetryCount":3} {"a":"b"} 4 '
        '{"Test":["CMD-SHELL","true"],"Interval":2000000000} {"Type":"json-file","Config":{}}')


def test_ulimits_default_clamped_and_explicit(hk):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    soft_out, hard_out = hk.ok("run", "--rm", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn").split()
    assert int(hard_out) <= hard and int(soft_out) <= int(hard_out)
    assert hk.ok("run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c",
                 "ulimit -n; ulimit -Hn").split() == ["512", "1024"]
    from hakobune.engine.create import can_raise_hard_limits

    if hard != resource.RLIM_INFINITY and not can_raise_hard_limits():
        proc = hk.run("run", "--rm", "--ulimit", f"nofile={hard + 1}", "busybox", "true")
        assert proc.returncode == 125
        assert f"ulimit nofile: hard limit {hard + 1} is above this host's hard limit {hard}" in proc.stderr
    assert hk.run("ps", "-aq").stdout == ""


def test_capabilities_seccomp_no_new_privileges_read_only(hk):
    out = hk.ok("run", "--rm", "--cap-drop", "ALL", "--cap-add", "net_bind_service", "--security-opt",
                "no-new-privileges", "--read-only", "busybox", "sh", "-c",
                "cat /proc/self/status; touch /x 2>/dev/null && echo WROTE || echo READONLY")
    assert capabilities(out) == 1 << 10  # CAP_NET_BIND_SERVICE
    assert re.search(r"NoNewPrivs:\s*1", out) and re.search(r"Seccomp:\s*2", out)
    assert out.strip().endswith("READONLY")
    out = hk.ok("run", "--rm", "--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN", "busybox",
                "cat", "/proc/self/status")
    assert re.search(r"Seccomp:\s*0", out)
    assert capabilities(out) & (1 << 21)  # CAP_SYS_ADMIN
    assert hk.ok("run", "--rm", "busybox", "sh", "-c", "echo x > /f && cat /f") == "x\n"


def test_seccomp_profile_file(hk, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
                       '"action": "SCMP_ACT_ERRNO"}]}')
    proc = hk.run("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox", "sh", "-c",
                  "mkdir /tmp/d || echo REFUSED")
    assert proc.returncode == 0 and "REFUSED" in proc.stdout


def test_privileged(hk):
    out = hk.ok("run", "--rm", "--privileged", "busybox", "sh", "-c",
                "cat /proc/self/status; ls /dev; mount | grep ' /sys '")
    with open("/proc/self/status") as f:
        ours = capabilities(f.read(), "CapBnd")
    assert capabilities(out) == ours
    assert re.search(r"Seccomp:\s*0", out)
    assert "sysfs on /sys type sysfs (rw" in out
    host_devices = {name for name in os.listdir("/dev") if os.path.exists(f"/dev/{name}")
                    and not os.path.isdir(f"/dev/{name}") and name.startswith("tty")}
    assert len(host_devices & set(out.split())) == len(host_devices)


def test_init_is_pid_one_and_reaps(hk):
    out = hk.ok("run", "--rm", "--init", "busybox", "sh", "-c",
                "cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.1 &) ; sleep 0.5; "
                "ps -o pid,stat,comm | grep -c ' Z ' || true")
    first, zombies = out.strip().splitlines()
    assert first.startswith("/sbin/docker-init -- sh -c")
    assert zombies == "0"
    assert hk.run("run", "--rm", "--init", "busybox", "sh", "-c", "exit 7").returncode == 7


def test_devices_sysctls_shm_oom_groups(hk):
    out = hk.ok("run", "--rm", "--device", "/dev/null:/dev/mynull:rw", "--sysctl", "net.ipv4.ip_forward=1",
                "--shm-size", "8m", "--oom-score-adj", "300", "--group-add", "1234", "busybox", "sh", "-c",
                "ls -l /dev/mynull; echo x > /dev/mynull && echo WROTE; cat /proc/sys/net/ipv4/ip_forward; "
                "df -k /dev/shm | tail -1; cat /proc/self/oom_score_adj; id -G")
    lines = out.splitlines()
    assert lines[0].startswith("c") and "1,   3" in lines[0]
    assert lines[1:3] == ["WROTE", "1"]
    assert lines[3].split()[1] == "8192"
    assert lines[4:] == ["300", "0 1234"]
    proc = hk.run("run", "--rm", "--device", "/dev/nonexistent", "busybox", "true")
    assert proc.returncode == 127  # the docker CLI's status for a start error saying "no such file or directory"
    assert 'error gathering device information while adding custom device "/dev/nonexistent"' in proc.stderr


def test_host_namespaces(hk):
    out = hk.ok("run", "--rm", "--pid", "host", "--uts", "host", "--ipc", "host", "busybox", "sh", "-c",
                "hostname; ls /proc | grep -c '^[0-9]'; readlink /proc/self/ns/ipc")
    hostname, processes, ipc = out.split()
    assert hostname == os.uname().nodename
    assert int(processes) > 10
    assert ipc == os.readlink("/proc/self/ns/ipc")


@pytest.mark.skipif(not shutil.which("runc"), reason="runc is not installed")
def test_runtime_runc(hk):
    proc = hk.run("run", "--runtime", "runc", "--name", "viarunc", "busybox", "sh", "-c", "echo hi; exit 3")
    assert (proc.returncode, proc.stdout) == (3, "hi\n")
    assert hk.ok("inspect", "-f", "{{.HostConfig.Runtime}}", "viarunc").strip() == "runc"
    hk.ok("rm", "viarunc")
    assert not os.listdir(os.path.join(hk.runroot, "runtime-runc"))
    # the health check runs through runc's exec too
    container_id = hk.ok("run", "-d", "--runtime", "runc", "--health-cmd", "echo ok", "--health-interval", "200ms",
                         "busybox", "sleep", "60").strip()
    assert wait_for(lambda: '"Status":"healthy"' in hk.ok("inspect", "-f", "{{json .State.Health}}", container_id))
    hk.ok("rm", "-f", container_id)
    assert not os.listdir(os.path.join(hk.runroot, "runtime-runc"))


def test_restart_on_failure_counts(hk):
    container_id = hk.ok("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo ran; exit 3").strip()
    fmt = "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}"
    assert wait_for(lambda: hk.ok("inspect", "-f", fmt, container_id).strip() == "2 exited 3")
    assert hk.ok("logs", container_id) == "ran\nran\nran\n"


def test_restart_always_stays_stopped_when_stopped(hk):
    container_id = hk.ok("run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2").strip()
    assert wait_for(lambda: int(hk.ok("inspect", "-f", "{{.RestartCount}}", container_id)) >= 1, timeout=30)
    hk.ok("stop", "-t", "1", container_id)
    time.sleep(0.5)
    assert hk.ok("inspect", "-f", "{{.State.Status}}", container_id).strip() == "exited"


def test_update_a_running_container(hk):
    container_id = hk.ok("run", "-d", "-m", "64m", "busybox", "sleep", "60").strip()
    assert host_cgroup(container_id, "memory", "memory.limit_in_bytes") == str(64 << 20)
    proc = hk.run("update", "-m", "128m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "20",
                  "--restart", "on-failure:4", container_id[:12])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, container_id[:12] + "\n", "")
    assert host_cgroup(container_id, "memory", "memory.limit_in_bytes") == str(128 << 20)
    assert host_cgroup(container_id, "memory", "memory.memsw.limit_in_bytes") == str(256 << 20)
    assert host_cgroup(container_id, "cpu", "cpu.cfs_quota_us") == "50000"
    assert host_cgroup(container_id, "pids", "pids.max") == "20"
    if hk.run("exec", "--help").returncode == 0:  # what the container itself sees
        assert hk.ok("exec", container_id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").strip() \
            == str(128 << 20)
    fmt = ("{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} "
           "{{json .HostConfig.RestartPolicy}}")
    assert hk.ok("inspect", "-f", fmt, container_id).strip() == \
        f'{128 << 20} {256 << 20} 500000000 {{"Name":"on-failure","MaximumRetryCount":4}}'
    state_dir = os.path.join(hk.runroot, "containers", container_id[:32])
    with open(os.path.join(state_dir, "state.json")) as f:
        assert '"restart_policy":"on-failure:4"' in f.read().replace(" ", "")


def test_update_errors(hk):
    container_id = hk.ok("run", "-d", "-m", "64m", "busybox", "sleep", "60").strip()
    proc = hk.run("update", container_id)
    assert (proc.returncode, proc.stderr) == (1, "you must provide one or more flags when using this command\n")
    proc = hk.run("update", "-m", "1k", container_id)
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: Minimum memory limit allowed is 6MB\n")
    proc = hk.run("update", "-m", "512m", container_id)
    assert proc.returncode == 1 and "Memory limit should be smaller than already set memoryswap limit" in proc.stderr
    proc = hk.run("update", "-m", "100m", "nosuchcontainer", container_id)
    assert proc.returncode == 1
    assert proc.stdout == container_id + "\n"
    assert proc.stderr == "Error response from daemon: No such container: nosuchcontainer\n"
    rm_id = hk.ok("create", "--rm", "busybox", "true").strip()
    proc = hk.run("update", "--restart", "always", rm_id)
    assert "Restart policy cannot be updated because AutoRemove is enabled for the container" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["-m", "12zz"], 'invalid argument "12zz" for "-m, --memory" flag: invalid suffix: \'zz\''),
    (["-m", "1k"], "hakobune: Error response from daemon: Minimum memory limit allowed is 6MB"),
    (["--rm", "--restart", "always"], "hakobune: conflicting options: cannot specify both --restart and --rm"),
    (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
    (["--cpus", "99"], "Range of CPUs is from 0.01 to"),
    (["--ulimit", "nofile=10:5"], "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
    (["--security-opt", "bogus"], 'hakobune: Invalid --security-opt: "bogus"'),
    (["--cap-add", "BOGUS"], 'invalid CapAdd: unknown capability: "CAP_BOGUS"'),
    (["--log-driver", "syslog"], "logger: no log driver named 'syslog' is registered"),
    (["--runtime", "nosuchruntime"], "unknown or invalid runtime name: nosuchruntime"),
    (["--env-file", "/nonexistent"], "hakobune: open /nonexistent: no such file or directory"),
    (["--health-retries", "-1"], "hakobune: --health-retries cannot be negative"),
    (["--sysctl", "kernel.foo=1"], "sysctl 'kernel.foo=1' is not allowed"),
])
def test_bad_values_exit_125(hk, args, message):
    proc = hk.run("run", *args, "busybox", "true")
    assert proc.returncode == 125, proc.stderr
    assert message in proc.stderr
    assert hk.run("ps", "-aq").stdout == ""
