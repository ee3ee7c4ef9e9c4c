"""Limits and isolation seen from inside: cgroup limits, seccomp, user
namespaces, joined namespaces, a terminal, hooks and `update`."""

import json
import os
import socket
import subprocess
import time

import pytest

from hakobune.oci.capabilities import DOCKER_DEFAULTS

pytestmark = pytest.mark.root


def output_of(runtime, bundle, container_id="c1"):
    result = runtime.run_bundle(bundle, container_id, check=False)
    return result.returncode, result.stdout + result.stderr


def test_memory_limit_oom_kills_an_allocation_beyond_it(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo rc=$?"])
    bundle.config["linux"]["resources"]["memory"] = {"limit": 32 << 20, "swap": 32 << 20}
    code, output = output_of(runtime, bundle)
    assert "rc=137" in output, output


def test_memory_within_the_limit_works(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null; echo rc=$?"])
    bundle.config["linux"]["resources"]["memory"] = {"limit": 32 << 20, "swap": 32 << 20}
    assert "rc=0" in output_of(runtime, bundle)[1]


def test_pids_limit_stops_a_fork_bomb(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "for i in $(seq 1 40); do sleep 30 & done; echo started"])
    bundle.config["linux"]["resources"]["pids"] = {"limit": 10}
    code, output = output_of(runtime, bundle)
    assert "can't fork" in output, output


def test_limits_are_visible_in_the_containers_cgroup(runtime, make_bundle):
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
              "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares")
    bundle = make_bundle(["sh", "-c", script])
    bundle.config["linux"]["resources"].update({
        "memory": {"limit": 64 << 20}, "pids": {"limit": 50},
        "cpu": {"quota": 50000, "period": 100000, "shares": 512}})
    assert output_of(runtime, bundle)[1].split() == [str(64 << 20), "50", "50000", "512"]


def test_update_changes_a_running_containers_limits(runtime, make_bundle):
    bundle = make_bundle(["sleep", "100"]).save()
    runtime("run", "-d", "--bundle", bundle.path, "u1")
    runtime("update", "--pids-limit", "7", "--memory", "48m", "u1")
    out = runtime("exec", "u1", "cat", "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert out.stdout.split() == ["7", str(48 << 20)]


def test_seccomp_blocks_what_capabilities_would_allow(runtime, make_bundle):
    # CAP_SYS_ADMIN is granted, but the profile is Docker's default for the
    # default capabilities: unshare must fail with EPERM through seccomp alone.
    bundle = make_bundle(["sh", "-c", "unshare -m true && echo allowed || echo blocked; grep Seccomp: /proc/self/status"])
    for kind in ("bounding", "effective", "permitted"):
        bundle.config["process"]["capabilities"][kind].append("CAP_SYS_ADMIN")
    assert output_of(runtime, bundle)[1].split()[:1] == ["blocked"]
    del bundle.config["linux"]["seccomp"]
    assert output_of(runtime, bundle, "c2")[1].split()[0] == "allowed"


def test_user_namespace_with_id_mappings(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/x && echo ok"])
    linux = bundle.config["linux"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    os.chown(os.path.join(bundle.rootfs, "tmp"), 100000, 100000)
    _open_path_to_everyone(bundle.rootfs)
    code, output = output_of(runtime, bundle)
    assert code == 0, output
    assert output.split() == ["0", "100000", "65536", "0", "100000", "65536", "0", "ok"]


def _open_path_to_everyone(path):
    """The mapped root must be able to reach the rootfs (pytest's dirs are 0700)."""
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o755)
        path = os.path.dirname(path)


def test_joining_another_containers_network_namespace(runtime, make_bundle):
    first = make_bundle(["sleep", "100"]).save()
    runtime("run", "-d", "--bundle", first.path, "owner")
    owner_pid = runtime.state("owner")["pid"]
    second = make_bundle(["readlink", "/proc/self/ns/net"])
    for namespace in second.config["linux"]["namespaces"]:
        if namespace["type"] == "network":
            namespace["path"] = f"/proc/{owner_pid}/ns/net"
    code, output = output_of(runtime, second, "joiner")
    assert output.strip() == os.readlink(f"/proc/{owner_pid}/ns/net")


def test_terminal_through_a_console_socket(runtime, make_bundle, tmp_path):
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    bundle = make_bundle(["sh", "-c", "tty; echo term=$TERM"])
    bundle.config["process"]["terminal"] = True
    bundle.save()
    try:
        runtime("create", "--bundle", bundle.path, "--console-socket", path, "tty1")
        connection, _ = server.accept()
        _, fds, _, _ = socket.recv_fds(connection, 1024, 1)
        connection.close()
        master = fds[0]
        runtime("start", "tty1")
        output = _read_until_closed(master)
        os.close(master)
    finally:
        server.close()
    assert "/dev/pts/0" in output and "term=xterm" in output


def _read_until_closed(fd, timeout=10) -> str:
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the slave side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_hooks_run_at_their_points_with_the_state(runtime, make_bundle, tmp_path):
    bundle = make_bundle(["true"])
    record = tmp_path / "hooks"
    record.mkdir()

    def hook(kind):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {record}/{kind}.json"]}

    bundle.config["hooks"] = {kind: [hook(kind)] for kind in ("prestart", "createRuntime", "poststart", "poststop")}
    bundle.config["hooks"]["createContainer"] = [hook("createContainer")]
    bundle.config["hooks"]["startContainer"] = [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat > /started.json"]}]
    bundle.config["annotations"] = {"org.example": "yes"}
    runtime.run_bundle(bundle, "hooked")
    for kind in ("prestart", "createRuntime", "createContainer", "poststart", "poststop"):
        state = json.loads((record / f"{kind}.json").read_text())
        assert state["id"] == "hooked" and state["annotations"] == {"org.example": "yes"}, kind
    assert json.loads((record / "poststart.json").read_text())["status"] == "running"
    assert json.loads(open(os.path.join(bundle.rootfs, "started.json")).read())["id"] == "hooked"


def test_a_failing_hook_fails_create_and_leaves_nothing(runtime, make_bundle):
    bundle = make_bundle(["true"])
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    result = runtime.run_bundle(bundle, "hk", check=False)
    assert result.returncode != 0 and "createRuntime hook /bin/false exited with 1" in result.stderr
    assert runtime("list", "-q").stdout.strip() == ""


def test_default_capabilities_without_the_profile_are_still_dockers(runtime, make_bundle):
    bundle = make_bundle(["grep", "CapBnd", "/proc/self/status"])
    del bundle.config["linux"]["seccomp"]
    from hakobune.oci.capabilities import mask_of

    assert output_of(runtime, bundle)[1].split()[1] == f"{mask_of(DOCKER_DEFAULTS):016x}"


def test_exec_with_a_terminal(runtime, make_bundle, tmp_path):
    bundle = make_bundle(["sleep", "100"]).save()
    runtime("run", "-d", "--bundle", bundle.path, "ttyexec")
    path = str(tmp_path / "exec-console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        command = runtime.command("exec", "-t", "-d", "--console-socket", path, "ttyexec",
                                  "ls", "-l", "/proc/self/fd/0")
        spawner = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        connection, _ = server.accept()
        _, fds, _, _ = socket.recv_fds(connection, 1024, 1)
        connection.close()
        assert spawner.wait(timeout=30) == 0, spawner.stderr.read()
        output = _read_until_closed(fds[0])
        os.close(fds[0])
    finally:
        server.close()
    assert "-> /dev/pts/" in output


def test_signals_start_with_their_default_dispositions(runtime, make_bundle):
    bundle = make_bundle(["grep", "SigIgn", "/proc/self/status"])
    assert output_of(runtime, bundle)[1].split() == ["SigIgn:", "0000000000000000"]
    running = make_bundle(["sleep", "100"]).save()
    runtime("run", "-d", "--bundle", running.path, "sig2")
    assert runtime("exec", "sig2", "grep", "SigIgn", "/proc/self/status").stdout.split() == [
        "SigIgn:", "0000000000000000"]
