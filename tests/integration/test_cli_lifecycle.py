"""The rest of the container life cycle through the real `hakobune` binary:
kill, pause/unpause, restart, wait, rename, container prune, stop with the
container's StopSignal, attach (output, stdin, detach keys), logs flags, ps
flags and sizes, inspect --size, run --pull against a local registry, info,
system prune and `system restore` after a simulated reboot.  Outputs,
messages and exit statuses are docker's (shared/reference/engine-api)."""

import glob
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from cli_store import HAKOBUNE, SINCE, cgroups_of, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def inspect(hk, name: str) -> dict:
    return json.loads(hk.ok("inspect", name))[0]


def wait_for(predicate, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


# --- kill -------------------------------------------------------------------------------

def test_kill_default_and_signals(hk):
    hk.ok("run", "-d", "--name", "k1", "busybox", "sleep", "100")
    assert hk.ok("kill", "k1") == "k1\n"
    state = inspect(hk, "k1")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 137)

    script = "trap 'echo got-hup' HUP; trap 'echo got-usr1; exit 7' USR1; while true; do sleep 0.05; done"
    hk.ok("run", "-d", "--name", "k2", "busybox", "sh", "-c", script)
    assert hk.ok("kill", "-s", "HUP", "k2") == "k2\n"
    assert wait_for(lambda: "got-hup" in hk.ok("logs", "k2"))
    assert inspect(hk, "k2")["State"]["Running"]
    assert hk.ok("kill", "--signal", "SIGUSR1", "k2") == "k2\n"
    assert hk.ok("wait", "k2") == "7\n"
    assert hk.ok("logs", "k2") == "got-hup\ngot-usr1\n"

    hk.ok("run", "-d", "--name", "k3", "busybox", "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done")
    assert hk.ok("kill", "-s", "15", "k3") == "k3\n"
    assert hk.ok("wait", "k3") == "3\n"


def test_kill_errors(hk):
    container_id = hk.ok("create", "--name", "idle", "busybox", "true").strip()
    proc = hk.run("kill", "idle")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (f"Error response from daemon: Cannot kill container: idle: Container {container_id} "
                           "is not running\n")
    hk.ok("run", "-d", "--name", "alive", "busybox", "sleep", "100")
    proc = hk.run("kill", "-s", "NOPE", "alive")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: Invalid signal: NOPE\n")
    proc = hk.run("kill", "nosuch")
    assert (proc.returncode, proc.stderr) == \
        (1, "Error response from daemon: Cannot kill container: nosuch: No such container: nosuch\n")
    assert inspect(hk, "alive")["State"]["Running"]


# --- pause, unpause -----------------------------------------------------------------------

def test_pause_unpause(hk):
    container_id = hk.ok("run", "-d", "--name", "pz", "busybox", "sh", "-c",
                         "while true; do date +%s%N > /tmp/tick; sleep 0.02; done").strip()
    assert hk.ok("pause", "pz") == "pz\n"
    state = inspect(hk, "pz")["State"]
    assert (state["Status"], state["Paused"], state["Running"]) == ("paused", True, True)
    assert re.fullmatch(rf"Up {SINCE} \(Paused\)\n", hk.ok("ps", "--format", "{{.Status}}"))
    with open(glob.glob(f"/sys/fs/cgroup/freezer/hakobune/{container_id}/freezer.state")[0]) as f:
        assert f.read().strip() == "FROZEN"
    proc = hk.run("pause", "pz")
    assert (proc.returncode, proc.stderr) == (
        1, f"Error response from daemon: Container {container_id} is already paused\n")
    assert "Paused: 1" in hk.ok("info")

    assert hk.ok("unpause", "pz") == "pz\n"
    state = inspect(hk, "pz")["State"]
    assert (state["Status"], state["Paused"]) == ("running", False)
    proc = hk.run("unpause", "pz")
    assert (proc.returncode, proc.stderr) == (
        1, f"Error response from daemon: Container {container_id} is not paused\n")


def test_stop_and_kill_of_a_paused_container(hk):
    hk.ok("run", "-d", "--name", "ps1", "busybox", "sh", "-c", "trap 'exit 5' TERM; while true; do sleep 0.05; done")
    hk.ok("pause", "ps1")
    started = time.monotonic()
    assert hk.ok("stop", "ps1") == "ps1\n"
    assert time.monotonic() - started < 5  # TERM arrived once thawed, no 10 s wait for SIGKILL
    state = inspect(hk, "ps1")["State"]
    assert (state["Status"], state["ExitCode"], state["Paused"]) == ("exited", 5, False)

    hk.ok("run", "-d", "--name", "ps2", "busybox", "sleep", "100")
    hk.ok("pause", "ps2")
    assert hk.ok("kill", "ps2") == "ps2\n"
    state = inspect(hk, "ps2")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 137)


def test_pause_of_a_stopped_container(hk):
    container_id = hk.ok("create", "--name", "cc", "busybox", "true").strip()
    proc = hk.run("pause", "cc")
    assert (proc.returncode, proc.stderr) == (1, f"Error response from daemon: Container {container_id} "
                                                 "is not running\n")


# --- stop with StopSignal / StopTimeout, restart, wait ------------------------------------

def test_stop_uses_the_stop_signal_and_timeout(hk):
    script = "trap 'echo usr1; exit 9' USR1; trap '' TERM; while true; do sleep 0.05; done"
    hk.ok("run", "-d", "--name", "sig", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c", script)
    time.sleep(0.2)
    assert hk.ok("stop", "sig") == "sig\n"
    assert inspect(hk, "sig")["State"]["ExitCode"] == 9
    # the container ignores TERM: --stop-timeout 1 kills it after one second
    hk.ok("run", "-d", "--name", "slow", "--stop-timeout", "1", "busybox", "sh", "-c",
          "trap '' TERM; while true; do sleep 0.05; done")
    time.sleep(0.2)
    started = time.monotonic()
    hk.ok("stop", "slow")
    assert 0.8 < time.monotonic() - started < 6
    assert inspect(hk, "slow")["State"]["ExitCode"] == 137
    # -s overrides the container's signal
    hk.ok("start", "sig")
    time.sleep(0.2)
    hk.ok("stop", "-s", "KILL", "sig")
    assert inspect(hk, "sig")["State"]["ExitCode"] == 137


def test_restart(hk):
    hk.ok("run", "-d", "--name", "rs", "busybox", "sh", "-c", "echo run; sleep 100")
    first = inspect(hk, "rs")["State"]["StartedAt"]
    assert hk.ok("restart", "-t", "1", "rs") == "rs\n"
    state = inspect(hk, "rs")["State"]
    assert state["Running"] and state["StartedAt"] != first
    assert wait_for(lambda: hk.ok("logs", "rs") == "run\nrun\n")
    hk.ok("stop", "-t", "0", "rs")
    assert hk.ok("restart", "rs") == "rs\n"  # a stopped container is started
    assert inspect(hk, "rs")["State"]["Running"]


def test_wait_blocks_until_exit_from_another_process(hk):
    hk.ok("run", "-d", "--name", "wt", "busybox", "sh", "-c", "sleep 1; exit 3")
    waiter = subprocess.Popen([*hk.prefix, "wait", "wt"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    assert waiter.poll() is None  # still blocked
    out, err = waiter.communicate(timeout=20)
    assert (waiter.returncode, out, err) == (0, "3\n", "")
    assert hk.ok("wait", "wt") == "3\n"  # an exited container answers at once
    hk.ok("create", "--name", "fresh", "busybox", "true")
    assert hk.ok("wait", "fresh", "wt") == "0\n3\n"
    proc = hk.run("wait", "nosuch")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


# --- rename, prune -------------------------------------------------------------------------

def test_rename(hk):
    container_id = hk.ok("run", "-d", "--name", "old", "busybox", "sleep", "100").strip()
    other = hk.ok("create", "--name", "taken", "busybox", "true").strip()
    assert hk.run("rename", "old", "new").stdout == ""
    assert inspect(hk, "new")["Id"] == container_id
    assert hk.run("inspect", "old").returncode == 1
    proc = hk.run("rename", "new", "taken")
    assert proc.returncode == 1
    assert proc.stderr == ('Error response from daemon: Error when allocating new name: Conflict. The container '
                           f'name "/taken" is already in use by container "{other}". You have to remove (or '
                           "rename) that container to be able to reuse that name.\nError: failed to rename "
                           "container named new\n")
    proc = hk.run("rename", "new", "new")
    assert proc.stderr == ("Error response from daemon: Renaming a container with the same name as its current "
                           "name\nError: failed to rename container named new\n")
    proc = hk.run("rename", "new", "")
    assert (proc.returncode, proc.stderr) == (1, "Error: Neither old nor new names may be empty\n")
    hk.ok("stop", "-t", "0", "new")
    hk.ok("start", "new")  # the monitor's state follows the id, not the name
    assert inspect(hk, "new")["State"]["Running"]


def test_container_prune(hk):
    running = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
    exited = hk.ok("run", "-d", "--label", "keep=1", "busybox", "sh", "-c", "echo 12345678 > /f").strip()
    created = hk.ok("create", "busybox", "true").strip()
    hk.ok("wait", exited)
    out = hk.ok("container", "prune", "-f", "--filter", "label!=keep")
    assert out == f"Deleted Containers:\n{created}\n\nTotal reclaimed space: 0B\n"
    out = hk.ok("container", "prune", "-f")
    assert out == f"Deleted Containers:\n{exited}\n\nTotal reclaimed space: 9B\n"
    assert hk.ok("container", "prune", "-f") == "Total reclaimed space: 0B\n"
    assert hk.ok("ps", "-aq", "--no-trunc") == running + "\n"
    proc = hk.run("container", "prune")  # no answer: nothing is removed
    assert proc.stdout.startswith("WARNING! This will remove all stopped containers.\n"
                                  "Are you sure you want to continue? [y/N] ")


# --- logs ---------------------------------------------------------------------------------------

def test_logs_tail_timestamps_since_details(hk):
    hk.ok("run", "--name", "lg", "busybox", "sh", "-c",
          "for i in 1 2 3; do echo out $i; echo err $i >&2; done; sleep 1.2; echo late; echo late-err >&2")
    proc = hk.run("logs", "--tail", "2", "lg")
    assert (proc.stdout, proc.stderr) == ("late\n", "late-err\n")
    proc = hk.run("logs", "-n", "3", "--timestamps", "lg")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"
    assert re.fullmatch(rf"{stamp} late\n", proc.stdout), proc.stdout  # the tail counts both streams
    assert re.fullmatch(rf"{stamp} err 3\n{stamp} late-err\n", proc.stderr), proc.stderr
    proc = hk.run("logs", "--since", "1s", "--details", "lg")
    assert (proc.stdout, proc.stderr) == (" late\n", " late-err\n")
    assert hk.run("logs", "--tail", "0", "lg").stdout == ""
    assert hk.run("logs", "--tail", "all", "lg").stdout == "out 1\nout 2\nout 3\nlate\n"
    stamps = re.findall(stamp, hk.run("logs", "-t", "lg").stdout)
    proc = hk.run("logs", "--until", stamps[2], "lg")
    assert proc.stdout == "out 1\nout 2\nout 3\n"


# --- ps -------------------------------------------------------------------------------------------

def test_ps_filters_last_and_size(hk):
    first = hk.ok("run", "-d", "--name", "alpha", "--label", "tier=web", "busybox", "sleep", "100").strip()
    assert hk.run("run", "--name", "beta", "busybox", "sh", "-c", "printf ab > /two; exit 2").returncode == 2
    second = inspect(hk, "beta")["Id"]
    third = hk.ok("create", "--name", "gamma", "--label", "tier=db", "busybox", "true").strip()

    def names(*args):
        return hk.ok("ps", "--format", "{{.Names}}", *args).split()

    assert names() == ["alpha"]
    assert names("-a") == ["gamma", "beta", "alpha"]
    assert names("--filter", "status=exited") == ["beta"]  # a status filter shows stopped ones too
    assert names("-a", "--filter", "status=created") == ["gamma"]
    assert names("-a", "--filter", "label=tier") == ["gamma", "alpha"]
    assert names("-a", "--filter", "label=tier=db") == ["gamma"]
    assert names("-a", "--filter", "name=a$") == ["gamma", "beta", "alpha"]
    assert names("-a", "--filter", "name=alp") == ["alpha"]
    assert names("-a", "--filter", f"id={first[:8]}") == ["alpha"]
    assert names("-a", "--filter", "exited=2") == ["beta"]
    assert names("-a", "--filter", "exited=0") == []
    assert names("-a", "--filter", "ancestor=busybox") == ["gamma", "beta", "alpha"]
    assert names("-a", "--filter", "before=gamma") == ["beta", "alpha"]
    assert names("-a", "--filter", "since=alpha") == ["gamma", "beta"]
    assert names("-a", "--filter", "health=none") == ["gamma", "beta", "alpha"]
    assert names("-n", "2") == ["gamma", "beta"]
    assert names("-l") == ["gamma"]
    assert hk.ok("ps", "-q", "-l", "--no-trunc") == third + "\n"
    proc = hk.run("ps", "--filter", "status=bogus")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: Invalid filter 'status=bogus'\n")
    proc = hk.run("ps", "--filter", "bogus=1")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: Invalid filter 'bogus'\n")

    lines = hk.ok("ps", "-a", "-s", "--filter", "name=beta").splitlines()
    assert lines[0].split()[-1] == "SIZE" and lines[0].startswith("CONTAINER ID")
    assert re.search(r"   2B \(virtual \d(\.\d+)?MB\)$", lines[1]), lines[1]
    assert hk.ok("ps", "-a", "--filter", "name=beta", "--format", "{{.Size}}").startswith("2B (virtual ")
    info = inspect(hk, "beta")
    assert "SizeRw" not in info
    sized = json.loads(hk.ok("container", "inspect", "--size", "beta"))[0]
    assert sized["SizeRw"] == 2 and sized["SizeRootFs"] > 1_000_000
    keys = list(sized)
    assert keys.index("SizeRw") == keys.index("GraphDriver") + 1
    assert second and first


# --- attach -------------------------------------------------------------------------------------

def _read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_attach_streams_live_output_and_exit_status(hk):
    hk.ok("run", "-d", "--name", "a1", "busybox", "sh", "-c",
          "sleep 0.5; echo early; echo warn >&2; sleep 0.5; echo later; exit 4")
    proc = hk.run("attach", "--no-stdin", "a1", timeout=20)
    assert (proc.returncode, proc.stdout, proc.stderr) == (4, "early\nlater\n", "warn\n")
    proc = hk.run("attach", "a1")
    assert (proc.returncode, proc.stderr) == (1, "You cannot attach to a stopped container, start it first\n")


def test_attach_forwards_stdin_and_signals(hk):
    hk.ok("run", "-d", "-i", "--name", "a2", "busybox", "sh", "-c",
          "trap 'echo term; exit 6' TERM; read line; echo got $line; while true; do sleep 0.05; done")
    attach = subprocess.Popen([*hk.prefix, "attach", "a2"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        attach.stdin.write(b"hello\n")
        attach.stdin.flush()
        assert _read_until(attach.stdout.fileno(), b"got hello\n") == b"got hello\n"
        attach.send_signal(signal.SIGTERM)  # sig-proxy: the container gets it
        out, err = attach.communicate(timeout=20)
    finally:
        if attach.poll() is None:
            attach.kill()
            attach.wait()
    assert (attach.returncode, out, err) == (6, b"term\n", b"")


def _spawn_on_pty(args):
    pid, master = pty.fork()
    if pid == 0:
        os.execv(HAKOBUNE, [HAKOBUNE, *args])
    return pid, master


def _finish(pid: int, master: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _read_until(master, b"\0", 0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os.close(master)
            return os.waitstatus_to_exitcode(status)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(master)
    raise AssertionError("the CLI did not finish")


def test_detach_keys_from_run_it_and_attach(hk):
    base = hk.prefix[1:]  # --root/--runroot, or -H in the client modes
    pid, master = _spawn_on_pty([*base, "run", "-it", "--name", "tty1", "busybox", "sh"])
    # the log relays whole lines: wait for the banner, not for the prompt
    assert b"built-in shell" in _read_until(master, b"commands.")
    time.sleep(0.3)
    os.write(master, b"echo marker-$((6*7))\r")
    assert b"marker-42" in _read_until(master, b"marker-42")
    os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
    assert _finish(pid, master) == 0
    assert inspect(hk, "tty1")["State"]["Running"]  # detached, still running

    pid, master = _spawn_on_pty([*base, "attach", "--detach-keys", "ctrl-a,x", "tty1"])
    time.sleep(0.5)
    os.write(master, b"echo again-$((6*7))\r")
    assert b"again-42" in _read_until(master, b"again-42")
    os.write(master, b"\x01x")
    output = _read_until(master, b"read escape sequence")
    assert b"read escape sequence" in output
    assert _finish(pid, master) == 1
    assert inspect(hk, "tty1")["State"]["Running"]

    pid, master = _spawn_on_pty([*base, "attach", "tty1"])
    time.sleep(0.5)
    os.write(master, b"exit 3\r")
    assert _finish(pid, master) == 3


# --- run --pull --------------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="needs Debian's docker-registry")
def test_run_pulls_a_missing_image(hk):
    from registry_server import Registry

    with Registry() as registry:
        name = f"{registry.address}/pulled:1"
        hk.ok("tag", "busybox:latest", name)
        hk.ok("push", name)
        hk.ok("rmi", name)
        proc = hk.run("run", "--rm", "--pull", "never", name, "true")
        assert (proc.returncode, proc.stdout) == (125, "")
        assert proc.stderr.startswith(f"hakobune: Error response from daemon: No such image: {name}")
        proc = hk.run("run", "--rm", name, "echo", "ran")
        assert (proc.returncode, proc.stdout) == (0, "ran\n"), proc.stderr
        lines = proc.stderr.splitlines()
        assert lines[0] == f"Unable to find image '{name}' locally"
        assert lines[1] == "1: Pulling from pulled"
        assert lines[-1] == f"Status: Downloaded newer image for {name}"
        proc = hk.run("run", "--rm", "--pull", "always", name, "true")
        assert proc.returncode == 0 and "Unable to find" not in proc.stderr
        assert proc.stderr.splitlines()[-1] == f"Status: Image is up to date for {name}"
        proc = hk.run("create", "--pull", "bogus", name)
        assert proc.returncode == 125
        assert 'invalid pull option: \'bogus\': must be one of "always", "missing" or "never"' in proc.stderr
        hk.ok("rmi", name)
        out = hk.ok("create", name)  # create pulls too
        hk.ok("rm", out.strip())
        hk.ok("rmi", name)
    proc = hk.run("run", "--rm", "127.0.0.1:1/none:1", "true")
    assert proc.returncode == 125
    assert proc.stderr.startswith("Unable to find image '127.0.0.1:1/none:1' locally\n")


# --- info, system prune -----------------------------------------------------------------------

def test_info_counts(hk):
    hk.ok("run", "-d", "busybox", "sleep", "100")
    hk.ok("create", "busybox", "true")
    out = hk.ok("info")
    assert " Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n" in out
    for line in (" Storage Driver: overlay2", " Cgroup Driver: cgroupfs", " Default Runtime: hakobune",
                 f" Docker Root Dir: {hk.root}", f" Kernel Version: {os.uname().release}"):
        assert line + "\n" in out
    assert re.search(r" Cgroup Version: [12]\n", out)
    assert hk.ok("info", "--format", "{{.ContainersRunning}} {{.Driver}}") == "1 overlay2\n"


def test_system_prune(hk):
    running = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
    stopped = hk.ok("create", "busybox", "true").strip()
    proc = hk.run("system", "prune")
    assert proc.stdout.startswith("WARNING! This will remove:\n  - all stopped containers\n")
    out = hk.ok("system", "prune", "-f")
    assert out.startswith(f"Deleted Containers:\n{stopped}\n\n")
    assert out.endswith("Total reclaimed space: 0B\n")
    assert hk.ok("ps", "-aq", "--no-trunc") == running + "\n"
    assert hk.ok("images", "-q")  # busybox is not dangling: kept


# --- system restore after a simulated reboot -----------------------------------------------------

def _simulate_reboot(hk):
    """Every monitor and container killed, mounts and cgroups gone, the runroot emptied."""
    for state in glob.glob(os.path.join(hk.runroot, "containers", "*", "state.json")):
        with open(state) as f:
            data = json.load(f)
        for pid in (data.get("monitor_pid"), data.get("pid")):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    time.sleep(0.3)
    for directory in glob.glob(os.path.join(hk.root, "containers", "*")):
        for cgroup in cgroups_of(os.path.basename(directory)):
            for _ in range(50):
                try:
                    os.rmdir(cgroup)
                    break
                except OSError:
                    time.sleep(0.05)
    for target in sorted(hk.mounts(), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)
    shutil.rmtree(hk.runroot)


@pytest.mark.local_only("system restore is the local engine's boot step")
def test_system_restore_after_reboot(hk):
    always = hk.ok("run", "-d", "--restart", "always", "busybox", "sleep", "100").strip()
    unless = hk.ok("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "100").strip()
    stopped = hk.ok("run", "-d", "--restart", "always", "busybox", "sleep", "100").strip()
    plain = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
    hk.ok("stop", "-t", "0", stopped)
    assert json.load(open(os.path.join(hk.root, "containers", stopped, "config.json")))["StoppedByUser"] is True
    _simulate_reboot(hk)
    assert hk.ok("ps", "-q") == ""
    out = hk.ok("system", "restore")
    assert sorted(out.split()) == sorted([always, unless])
    running = hk.ok("ps", "-q", "--no-trunc").split()
    assert sorted(running) == sorted([always, unless])
    assert hk.ok("system", "restore") == ""  # running ones are left alone
    hk.ok("start", stopped)  # a user's start clears the mark
    assert json.load(open(os.path.join(hk.root, "containers", stopped, "config.json")))["StoppedByUser"] is False
    assert plain


def test_start_attach_interactive(hk):
    container_id = hk.ok("create", "-i", "busybox", "sh", "-c", "read x; echo got $x; exit 2").strip()
    proc = subprocess.run([*hk.prefix, "start", "-a", "-i", container_id],
                          input="hello\n", capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "got hello\n", "")


def test_kill_of_a_restarting_policy_container_keeps_it_dead(hk):
    hk.ok("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "100")
    assert hk.ok("kill", "always") == "always\n"
    time.sleep(0.5)  # past the first restart delay (100 ms)
    state = inspect(hk, "always")["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 137)
    hk.ok("start", "always")
    assert hk.ok("rm", "-f", "always") == "always\n"


def test_ps_health_status_and_filter(hk):
    hk.ok("run", "-d", "--name", "doc", "--health-cmd", "true", "--health-interval", "200ms", "busybox",
          "sleep", "100")
    hk.ok("run", "-d", "--name", "plain", "busybox", "sleep", "100")
    assert wait_for(lambda: "(healthy)" in hk.ok("ps", "--filter", "name=doc", "--format", "{{.Status}}"))
    assert re.fullmatch(rf"Up {SINCE} \(healthy\)\n", hk.ok("ps", "--filter", "name=doc", "--format", "{{.Status}}"))
    assert hk.ok("ps", "--filter", "health=healthy", "--format", "{{.Names}}") == "doc\n"
    assert hk.ok("ps", "--filter", "health=none", "--format", "{{.Names}}") == "plain\n"
