"""The container commands of the real `hakobune` binary: run (foreground and
-d), create, start, ps, logs, stop, rm, inspect, against docker's recorded
outputs and exit statuses; the rootfs is a real overlay.  Every test leaves
nothing behind: containers (`rm -f`), monitors, overlay mounts, cgroups and
directories are cleaned up even when it fails."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from cli_store import SINCE, cgroups_of, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


# --- foreground run ----------------------------------------------------------------------

def test_run_echo(hk):
    proc = hk.run("run", "busybox", "echo", "hi")
    assert proc.stderr == ""
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")
    rows = hk.ok("ps", "-a", "--format", "{{.Command}}|{{.Status}}|{{.Image}}").splitlines()
    assert len(rows) == 1 and re.fullmatch(rf'"echo hi"\|Exited \(0\) {SINCE} ago\|busybox', rows[0])
    assert hk.mounts() == []  # unmounted once the container exited


def test_run_exit_status_and_streams(hk):
    proc = hk.run("run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")


def test_run_command_not_found(hk):
    proc = hk.run("run", "busybox", "nosuchcmd")
    assert proc.returncode == 127
    assert proc.stderr == ('hakobune: Error response from daemon: OCI runtime create failed: unable to start '
                           'container process: exec: "nosuchcmd": executable file not found in $PATH: unknown\n'
                           "Run 'hakobune run --help' for more information\n")
    assert hk.ok("ps", "-a", "--format", "{{.Status}}") == "Created\n"
    assert hk.mounts() == []


def test_run_errors_are_125(hk):
    proc = hk.run("run", "--pull", "never", "nosuchimage", "true")
    assert proc.returncode == 125 and "No such image" in proc.stderr, proc.stderr
    proc = hk.run("run", "-u", "nosuch", "busybox", "id")
    assert proc.returncode == 125 and "unable to find user nosuch" in proc.stderr


def test_run_rm_removes_the_container(hk):
    proc = hk.run("run", "--rm", "busybox", "sh", "-c", "echo bye; exit 4")
    assert (proc.returncode, proc.stdout) == (4, "bye\n")
    assert hk.ok("ps", "-aq") == ""
    assert glob.glob(os.path.join(hk.root, "containers", "*", "config.json")) == []
    # not even the shared /hakobune parent cgroup stays once no container needs it
    assert glob.glob("/sys/fs/cgroup/*/hakobune") + glob.glob("/sys/fs/cgroup/hakobune") == []


def test_detached_rm_is_removed_once_exited(hk):
    # no daemon: the next command that sees the exit removes it
    hk.ok("run", "-d", "--rm", "busybox", "true")
    for _ in range(250):
        if hk.ok("ps", "-aq") == "":
            break
        subprocess.run(["sleep", "0.02"])
    assert hk.ok("ps", "-aq") == ""
    assert hk.leftovers() == []


def test_env_workdir_user_hostname(hk):
    env = {**os.environ, "B": "from-client"}
    env.pop("NOPE", None)
    out = hk.ok("run", "-e", "A=1", "-e", "B", "-e", "NOPE", "-w", "/srv/x", "-u", "65534:5",
                "--hostname", "myhost", "busybox", "sh", "-c", "env | sort; pwd; id; hostname; cat /etc/hostname",
                env=env)
    lines = out.splitlines()
    assert "A=1" in lines and "B=from-client" in lines and not any(l.startswith("NOPE") for l in lines)
    assert "HOSTNAME=myhost" in lines and "HOME=/nonexistent" in lines
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in lines
    assert lines[-4:] == ["/srv/x", "uid=65534(nobody) gid=5(tty) groups=5(tty)", "myhost", "myhost"]
    assert hk.ok("run", "-u", "nobody", "busybox", "id") == "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n"
    assert hk.ok("run", "--entrypoint", "echo", "busybox", "a", "b") == "a b\n"


def test_default_hostname_is_the_short_id(hk):
    out = hk.ok("run", "--name", "named", "busybox", "hostname")
    full = hk.ok("inspect", "-f", "{{.Id}}", "named").strip()
    assert out == full[:12] + "\n"


# --- detached life cycle -----------------------------------------------------------------

def test_detached_lifecycle(hk):
    container_id = hk.ok("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; exec sleep 100").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", container_id)
    header, *rows = hk.ok("ps").splitlines()
    assert re.fullmatch(r"CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES", header)
    assert len(rows) == 1
    assert re.fullmatch(rf'{container_id[:12]}   busybox   "sh -c \'echo started…"   {SINCE} ago   '
                        rf'Up {SINCE} +web', rows[0]), rows[0]
    assert hk.ok("ps", "-q") == container_id[:12] + "\n"
    assert hk.ok("ps", "-q", "--no-trunc") == container_id + "\n"
    assert hk.ok("container", "ls", "--format", "{{.Names}} {{.State}}") == "web running\n"
    for _ in range(100):
        if hk.ok("logs", "web") == "started\n":
            break
    assert hk.ok("logs", "web") == "started\n"
    state = json.loads(hk.ok("inspect", container_id[:8]))[0]["State"]
    assert state["Status"] == "running" and state["Running"] and state["Pid"] > 0
    assert cgroups_of(container_id)
    proc = hk.run("rm", "web")
    assert proc.returncode == 1
    assert proc.stderr == (f"Error response from daemon: You cannot remove a running container {container_id}. "
                           "Stop the container before attempting removal or force remove\n")
    assert hk.ok("stop", "-t", "1", "web") == "web\n"
    assert hk.ok("ps") .splitlines()[1:] == []
    assert re.fullmatch(rf"Exited \(137\) {SINCE} ago\n", hk.ok("ps", "-a", "--format", "{{.Status}}"))
    assert hk.mounts() == []
    assert hk.ok("rm", "web") == "web\n"
    assert hk.ok("ps", "-aq") == ""
    assert cgroups_of(container_id) == []
    proc = hk.run("rm", "web")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: web\n")


def test_rm_force_and_inspect_shape(hk):
    container_id = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
    doc = json.loads(hk.ok("container", "inspect", container_id))[0]
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "Config", "HostConfig", "Mounts"):
        assert key in doc
    assert doc["Path"] == "sleep" and doc["Args"] == ["100"] and doc["Image"] == hk.busybox_id
    assert doc["Config"]["Cmd"] == ["sleep", "100"] and doc["Config"]["Image"] == "busybox"
    assert doc["Name"].startswith("/") and re.fullmatch(r"/[a-z]+_[a-z]+\d?", doc["Name"])
    assert sorted(doc["State"]) == sorted(["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead",
                                           "Pid", "ExitCode", "Error", "StartedAt", "FinishedAt"])
    assert hk.ok("rm", "-f", container_id[:10]) == container_id[:10] + "\n"
    assert hk.leftovers() == [] and cgroups_of(container_id) == []


def test_create_then_start_attach(hk):
    container_id = hk.ok("create", "--name", "made", "busybox", "sh", "-c", "echo created-out; exit 2").strip()
    assert hk.ok("ps", "-a", "--format", "{{.ID}} {{.Status}}") == f"{container_id[:12]} Created\n"
    proc = hk.run("start", "-a", "made")
    assert (proc.returncode, proc.stdout) == (2, "created-out\n")
    assert hk.ok("start", "made") == "made\n"
    proc = hk.run("start", "nothing")
    assert proc.returncode == 1
    assert proc.stderr == ("Error response from daemon: No such container: nothing\n"
                           "Error: failed to start containers: nothing\n")


def test_name_conflict(hk):
    first = hk.ok("create", "--name", "dup", "busybox", "true").strip()
    proc = hk.run("run", "--name", "dup", "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr == (f'hakobune: Error response from daemon: Conflict. The container name "/dup" is already '
                           f'in use by container "{first}". You have to remove (or rename) that container to be '
                           f"able to reuse that name.\nRun 'hakobune run --help' for more information\n")
    assert hk.ok("ps", "-aq") == first[:12] + "\n"


# --- the rootfs --------------------------------------------------------------------------

def test_rootfs_is_an_overlay(hk):
    container_id = hk.ok("run", "-d", "busybox", "sh", "-c",
                         "echo new > /newfile; echo changed >> /etc/passwd; rm /bin/ls; exec sleep 100").strip()
    merged = os.path.join(hk.root, "containers", container_id, "merged")
    upper = os.path.join(hk.root, "containers", container_id, "upper")
    with open("/proc/self/mountinfo") as f:
        line = next(line for line in f if line.split()[4] == merged)
    assert " - overlay " in line and f"upperdir={upper}" in line
    for _ in range(200):
        if os.path.exists(os.path.join(upper, "bin", "ls")):
            break
        subprocess.run(["sleep", "0.02"])
    assert open(os.path.join(upper, "newfile")).read() == "new\n"
    assert open(os.path.join(upper, "etc", "passwd")).read().endswith("changed\n")
    assert os.stat(os.path.join(upper, "bin", "ls")).st_rdev == 0  # a whiteout
    layers = glob.glob(os.path.join(hk.root, "image", "layers", "*", "diff"))
    assert layers
    for layer in layers:
        assert not os.path.exists(os.path.join(layer, "newfile"))
        assert os.path.lexists(os.path.join(layer, "bin", "ls"))
        assert not open(os.path.join(layer, "etc", "passwd")).read().endswith("changed\n")
    hk.ok("stop", "-t", "0", container_id)
    assert hk.mounts() == []
    assert open(os.path.join(upper, "newfile")).read() == "new\n"  # the layer outlives the run


def test_rmi_of_an_image_in_use_is_refused(hk):
    image_id = hk.ok("import", "-c", 'CMD ["sh"]', "-m", "another", hk.tar, "other:1").strip()
    assert image_id != hk.busybox_id
    container_id = hk.ok("create", "other:1", "true").strip()
    proc = hk.run("rmi", "other:1")
    assert proc.returncode == 1
    assert proc.stderr == ('Error response from daemon: conflict: unable to remove repository reference "other:1" '
                           f"(must force) - container {container_id[:12]} is using its referenced image "
                           f"{image_id[7:19]}\n")
    assert hk.ok("images", "-q", "other") == image_id[7:19] + "\n"
    hk.ok("rm", container_id)
    assert f"Deleted: {image_id}" in hk.ok("rmi", "other:1")


def test_interrupt_reaches_the_container_and_management_forms(hk):
    proc = subprocess.Popen([*hk.prefix, "container", "run", "--rm",
                             "busybox", "sh", "-c", 'trap "echo got; exit 5" INT; echo ready; '
                             "while :; do sleep 0.1; done"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (out, proc.returncode) == ("got\n", 5)
    assert hk.ok("container", "ps", "-aq") == ""
    container_id = hk.ok("container", "create", "busybox", "sh", "-c", "echo one; sleep 0.3; echo two").strip()
    hk.ok("container", "start", container_id)
    assert hk.ok("container", "logs", "-f", container_id) == "one\ntwo\n"
    assert hk.ok("container", "stop", container_id) == container_id + "\n"
    assert hk.ok("container", "rm", container_id) == container_id + "\n"


def test_run_interactive_forwards_stdin(hk):
    proc = subprocess.run([*hk.prefix, "run", "--rm", "-i", "busybox",
                           "sh", "-c", "read x; echo got $x; cat"], input="abc\nrest\n", capture_output=True,
                          text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "got abc\nrest\n", "")
    proc = subprocess.run([*hk.prefix, "run", "--rm", "-i", "busybox",
                           "cat"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "")


def test_run_tty(hk):
    proc = hk.run("run", "--rm", "-t", "busybox", "sh", "-c", "tty; echo $TERM; exit 4")
    assert (proc.returncode, proc.stdout) == (4, "/dev/pts/0\nxterm\n")  # text mode: \r\n read as \n


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux's script")
def test_run_interactive_tty(hk):
    command = " ".join([*hk.prefix, "run", "-it", "--rm", "busybox", "sh"])
    feeder = "sleep 1; printf 'echo typed\\n'; sleep 0.5; printf 'exit 5\\n'"
    proc = subprocess.run(["sh", "-c", f'({feeder}) | script -qec "{command}" /dev/null'], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 5
    assert "\ntyped\n" in proc.stdout.replace("echo typed", "")
    assert hk.ok("ps", "-aq") == ""
