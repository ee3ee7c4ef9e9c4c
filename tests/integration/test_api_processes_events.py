"""top, stats, update, commit, events and logs -f through `hakobune serve`
with the real docker CLI (shared/reference/engine-api/docker-top*.md,
docker-stats-*.md, docker-update.md, docker-commit.md, docker-events-*.md,
docker-logs-follow.md)."""

import json
import os
import subprocess
import time

import pytest

from api_server import DOCKER, api, sleeper  # noqa: F401 - fixtures

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]


def test_top(api, sleeper):
    proc = api.docker("top", sleeper)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert any(line.endswith("sleep 600") for line in lines[1:])
    proc = api.docker("top", sleeper, "-o", "pid,comm")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split() == ["PID", "COMMAND"]
    assert "sleep" in proc.stdout


def test_stats_once_and_streaming(api, sleeper):
    proc = api.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", sleeper)
    assert (proc.returncode, proc.stdout) == (0, f"{sleeper} 1\n"), proc.stderr
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=api.host, version="auto")
    try:
        container = client.containers.get(sleeper)
        one = container.stats(stream=False)
        assert one["pids_stats"]["current"] == 1 and one["precpu_stats"]["cpu_usage"]["total_usage"] > 0
        readings = container.stats(stream=True, decode=True)
        first, second = next(readings), next(readings)
        assert second["precpu_stats"]["cpu_usage"] == first["cpu_stats"]["cpu_usage"]
        readings.close()
    finally:
        client.close()


def test_update(api, sleeper):
    proc = api.docker("update", "--memory", "128m", "--memory-swap", "256m", "--cpu-shares", "512", sleeper)
    assert (proc.returncode, proc.stdout) == (0, f"{sleeper}\n"), proc.stderr
    host = json.loads(api.docker("inspect", sleeper).stdout)[0]["HostConfig"]
    assert (host["Memory"], host["MemorySwap"], host["CpuShares"]) == (128 << 20, 256 << 20, 512)


def test_commit(api, sleeper):
    assert api.docker("exec", sleeper, "sh", "-c", "echo changed > /changed").returncode == 0
    proc = api.docker("commit", "-a", "apitest", "-m", "api commit", "-c", "ENV COMMITTED=1", "-c", 'CMD ["sh"]',
                      sleeper, "committed:v1")
    assert proc.returncode == 0 and proc.stdout.startswith("sha256:"), proc.stderr
    try:
        image = json.loads(api.docker("image", "inspect", "committed:v1").stdout)[0]
        assert image["Author"] == "apitest" and "COMMITTED=1" in image["Config"]["Env"]
        assert image["Config"]["Cmd"] == ["sh"]
        proc = api.docker("run", "--rm", "committed:v1", "cat", "/changed")
        assert (proc.returncode, proc.stdout) == (0, "changed\n"), proc.stderr
    finally:
        api.docker("rmi", "committed:v1")


def test_events_in_a_window_with_filters(api):
    name = f"apiev-{os.getpid()}"
    since = int(time.time())
    proc = api.docker("run", "--rm", "--label", "apiev=1", "--name", name, "busybox:local", "true")
    assert proc.returncode == 0, proc.stderr
    until = int(time.time()) + 1
    proc = api.docker("events", "--since", str(since), "--until", str(until), "--filter", "label=apiev=1",
                      "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"container {action} {name}"
                                        for action in ("create", "attach", "start", "die", "destroy")]
    proc = api.docker("events", "--since", str(since), "--until", str(until), "--filter", f"container={name}",
                      "--filter", "event=die", "--format", "{{json .}}", timeout=30)
    assert proc.returncode == 0, proc.stderr
    (event,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert event["status"] == "die" and event["Actor"]["Attributes"]["exitCode"] == "0"
    proc = api.docker("events", "--filter", "nonsense=1", "--since", "1", "--until", "2")
    assert proc.returncode == 1 and "nonsense" in proc.stderr


def test_events_follow(api):
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": os.path.join(api.base, "cfg")}
    follower = subprocess.Popen([DOCKER, "events", "--filter", "label=apifollow=1", "--format", "{{.Action}}"],
                                stdout=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(0.5)
        proc = api.docker("run", "--rm", "--label", "apifollow=1", "busybox:local", "true")
        assert proc.returncode == 0, proc.stderr
        seen = []
        deadline = time.monotonic() + 15
        while "destroy" not in seen and time.monotonic() < deadline:
            seen.append(follower.stdout.readline().strip())
        assert seen == ["create", "attach", "start", "die", "destroy"]
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_logs_follow(api):
    name = f"apilogs-{os.getpid()}"
    proc = api.docker("run", "-d", "--name", name, "busybox:local",
                      "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo oops >&2")
    assert proc.returncode == 0, proc.stderr
    try:
        proc = api.docker("logs", "-f", name, timeout=30)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "line1\nline2\nline3\n", "oops\n")
    finally:
        api.docker("rm", "-f", name)


def test_a_client_leaving_a_quiet_stream_leaves_no_thread(api, sleeper):
    server_pid = api.process.pid

    def threads() -> int:
        return len(os.listdir(f"/proc/{server_pid}/task"))

    before = threads()
    env = {**os.environ, "DOCKER_HOST": api.host, "DOCKER_CONFIG": os.path.join(api.base, "cfg")}
    for command in (["logs", "-f", sleeper], ["events"]):
        client = subprocess.Popen([DOCKER, *command], stdout=subprocess.DEVNULL, env=env)
        time.sleep(1)
        client.terminate()
        client.wait(timeout=10)
    deadline = time.monotonic() + 5
    while threads() > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threads() <= before
