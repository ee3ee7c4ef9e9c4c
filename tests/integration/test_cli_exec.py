"""`hakobune exec` of the real binary into real busybox containers, against
docker's recorded outputs, messages and exit statuses: streams and status,
environment, working directory, user, -i, -t (on a real pty), -d,
--privileged, a stopped container, a missing command (127) and one that
cannot be invoked (126).  Containers are removed by the `hk` fixture."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def _sleeper(hk, name="sleeper", *options):
    return hk.ok("run", "-d", "--name", name, *options, "busybox", "sleep", "300").strip()


def test_exec_output_and_status(hk):
    _sleeper(hk)
    proc = hk.run("exec", "sleeper", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert hk.run("exec", "sleeper", "true").returncode == 0


def test_exec_by_id_prefix_and_container_form(hk):
    container_id = _sleeper(hk)
    assert hk.ok("exec", container_id[:12], "echo", "short") == "short\n"
    assert hk.ok("container", "exec", container_id, "echo", "full") == "full\n"


def test_exec_options_end_at_the_container(hk):
    _sleeper(hk)
    # -c belongs to sh, not to exec
    assert hk.ok("exec", "sleeper", "sh", "-c", 'printf "%s\\n" "$0"', "-e") == "-e\n"


def test_exec_env_workdir_user(hk):
    """docker-exec-options: -u 1000:1000 -w /srv -e FOO=bar."""
    _sleeper(hk, "sleeper", "-e", "FROMRUN=1")
    hk.ok("exec", "sleeper", "mkdir", "-p", "/srv")
    out = hk.ok("exec", "-u", "1000:1000", "-w", "/srv", "-e", "FOO=bar", "sleeper", "sh", "-c", "id; pwd; echo $FOO")
    assert out == "uid=1000 gid=1000 groups=1000\n/srv\nbar\n"
    env = dict(line.split("=", 1) for line in hk.ok("exec", "sleeper", "env").splitlines())
    assert env["FROMRUN"] == "1" and env["HOME"] == "/root" and "PATH" in env
    assert env["HOSTNAME"] == hk.ok("inspect", "-f", "{{.Config.Hostname}}", "sleeper").strip()
    assert "TERM" not in env
    # -e replaces the container's value; the container's working directory is the default
    assert hk.ok("exec", "-e", "FROMRUN=2", "sleeper", "sh", "-c", "echo $FROMRUN; pwd") == "2\n/\n"


def test_exec_user_by_name_and_env_file(hk, tmp_path):
    _sleeper(hk)
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nA=from-file\nB=b\n")
    out = hk.ok("exec", "--env-file", str(env_file), "-e", "B=flag", "-u", "nobody", "sleeper",
                "sh", "-c", "id -u; echo $HOME; echo $A $B")
    assert out == "65534\n/nonexistent\nfrom-file flag\n"
    proc = hk.run("exec", "-u", "nosuchuser", "sleeper", "true")
    assert proc.returncode != 0 and "unable to find user nosuchuser" in proc.stderr


def test_exec_default_workdir_is_the_containers(hk):
    _sleeper(hk, "sleeper", "-w", "/tmp")
    assert hk.ok("exec", "sleeper", "pwd") == "/tmp\n"


def test_exec_keeps_the_containers_restrictions(hk):
    """Capabilities and seccomp are the container's; --privileged gives every capability."""
    _sleeper(hk)
    init_caps = hk.ok("exec", "sleeper", "grep", "-E", "CapBnd|Seccomp:", "/proc/1/status")
    exec_caps = hk.ok("exec", "sleeper", "grep", "-E", "CapBnd|Seccomp:", "/proc/self/status")
    assert exec_caps == init_caps and "Seccomp:\t2" in exec_caps
    privileged = hk.ok("exec", "--privileged", "sleeper", "grep", "CapEff", "/proc/self/status")
    with open("/proc/self/status") as f:
        host_bounding = next(line for line in f if line.startswith("CapBnd")).split()[1]
    assert privileged.split()[1] == host_bounding
    assert hk.ok("exec", "sleeper", "grep", "NoNewPrivs", "/proc/self/status").split()[1] == "0"


def test_exec_joins_the_containers_namespaces_and_cgroup(hk):
    container_id = _sleeper(hk)
    hostname = hk.ok("exec", "sleeper", "hostname").strip()
    assert hostname == container_id[:12]
    # PID 1 in its view is the container's init
    assert hk.ok("exec", "sleeper", "cat", "/proc/1/cmdline").split("\0")[:2] == ["sleep", "300"]
    own = hk.ok("exec", "sleeper", "sh", "-c", "cat /proc/self/cgroup")
    assert own == hk.ok("exec", "sleeper", "cat", "/proc/1/cgroup")


def test_exec_stdin(hk):
    """docker-exec-stdin: `echo piped | docker exec -i C cat`; without -i stdin is empty."""
    _sleeper(hk)
    proc = subprocess.run([*hk.prefix, "exec", "-i", "sleeper", "cat"],
                          input="piped\n", capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "piped\n")
    proc = subprocess.run([*hk.prefix, "exec", "sleeper", "cat"],
                          input="not read\n", capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (0, "")


def _run_on_pty(hk, args, typed: bytes = b"", rows=30, cols=100, timeout=30):
    """Run hakobune with a pty as its stdio; (output, status)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen([*hk.prefix, *args],
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    if typed:
        os.write(master, typed)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                output += data
            elif process.poll() is not None:
                break
        return output.decode(errors="replace"), process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def test_exec_tty(hk):
    """docker-exec-tty: a pty of the CLI's window size, TERM=xterm, the program's status."""
    _sleeper(hk)
    output, status = _run_on_pty(hk, ["exec", "-it", "sleeper", "sh", "-c",
                                      "echo in-tty; busybox tty; stty size; echo $TERM; exit 4"])
    assert status == 4
    lines = output.replace("\r\n", "\n").splitlines()
    assert lines[:4] == ["in-tty", "/dev/pts/0", "30 100", "xterm"]


def test_exec_tty_forwards_typed_input(hk):
    _sleeper(hk)
    output, status = _run_on_pty(hk, ["exec", "-it", "sleeper", "sh", "-c", "read line; echo got:$line"],
                                 typed=b"hello\n")
    assert status == 0
    assert "got:hello" in output


def test_exec_it_needs_a_terminal(hk):
    _sleeper(hk)
    proc = hk.run("exec", "-it", "sleeper", "true")
    assert (proc.returncode, proc.stderr) == (1, "the input device is not a TTY\n")


def test_exec_detach(hk):
    """docker-exec-detach: returns at once with 0; the process runs in the container."""
    _sleeper(hk)
    started = time.monotonic()
    proc = hk.run("exec", "-d", "sleeper", "sh", "-c", "echo detached > /tmp/marker; sleep 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert time.monotonic() - started < 2.5
    deadline = time.monotonic() + 5
    while hk.run("exec", "sleeper", "cat", "/tmp/marker").stdout != "detached\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    commands = [row[-1] for row in (line.split(None, 7) for line in hk.ok("top", "sleeper").splitlines()[1:])]
    assert "sleep 3" in commands
    # -dt: the program is not hung up when the CLI has gone
    assert hk.run("exec", "-dt", "sleeper", "sleep", "7").returncode == 0
    time.sleep(0.5)
    commands = [row[-1] for row in (line.split(None, 7) for line in hk.ok("top", "sleeper").splitlines()[1:])]
    assert "sleep 7" in commands


def test_exec_in_a_stopped_container(hk):
    """docker-exec-not-running: 409, exit 1."""
    container_id = hk.ok("create", "--name", "idle", "busybox", "sleep", "300").strip()
    proc = hk.run("exec", "idle", "true")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"Error response from daemon: Container {container_id} is not running\n"
    hk.ok("run", "--name", "done", "busybox", "true")
    done_id = hk.ok("inspect", "-f", "{{.Id}}", "done").strip()
    proc = hk.run("exec", "done", "true")
    assert proc.stderr == f"Error response from daemon: Container {done_id} is not running\n"


def test_exec_missing_container(hk):
    proc = hk.run("exec", "nosuch", "true")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


def test_exec_command_not_found(hk):
    _sleeper(hk)
    proc = hk.run("exec", "sleeper", "nope")
    assert proc.returncode == 127
    assert proc.stderr == ('OCI runtime exec failed: exec failed: unable to start container process: '
                           'exec: "nope": executable file not found in $PATH: unknown\n')
    proc = hk.run("exec", "sleeper", "/no/such/file")
    assert proc.returncode == 127 and "no such file or directory" in proc.stderr


def test_exec_not_executable(hk):
    _sleeper(hk)
    proc = hk.run("exec", "sleeper", "/etc/passwd")
    assert proc.returncode == 126
    assert proc.stderr == ('OCI runtime exec failed: exec failed: unable to start container process: '
                           'exec: "/etc/passwd": permission denied: unknown\n')


def test_exec_missing_workdir(hk):
    _sleeper(hk)
    proc = hk.run("exec", "-w", "/nonexistent", "sleeper", "true")
    assert proc.returncode == 127
    assert 'chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory' in proc.stderr


def test_exec_needs_a_command(hk):
    proc = hk.run("exec", "sleeper")
    assert proc.returncode == 1
    assert "'hakobune exec' requires at least 2 arguments" in proc.stderr


def test_exec_signal_status(hk):
    _sleeper(hk)
    assert hk.run("exec", "sleeper", "sh", "-c", "kill -9 $$").returncode == 137


@pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed")
def test_exec_with_another_runtime(hk):
    """A container run by runc: exec goes through `runc exec --process`."""
    hk.ok("run", "-d", "--name", "viarunc", "--runtime", "runc", "busybox", "sleep", "300")
    proc = hk.run("exec", "-e", "FOO=bar", "viarunc", "sh", "-c", "echo $FOO; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "bar\n", "err\n")
    proc = hk.run("exec", "viarunc", "nope")
    assert proc.returncode == 127
    assert proc.stderr.endswith('OCI runtime exec failed: exec failed: unable to start container process: '
                                'exec: "nope": executable file not found in $PATH: unknown\n')
    output, status = _run_on_pty(hk, ["exec", "-it", "viarunc", "sh", "-c", "stty size; exit 2"])
    assert status == 2 and output.replace("\r\n", "\n").splitlines()[0] == "30 100"
