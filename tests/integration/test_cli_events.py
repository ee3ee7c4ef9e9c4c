"""`hakobune events` and the events journal (hakobune.engine.events): the
events each command records, in Docker's shapes and order
(shared/reference/engine-api/docker-events-*), --since/--until windows,
--filter, --format, following live events, concurrent writers and the
journal's size cap."""

import json
import multiprocessing
import os
import re
import signal
import subprocess
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures
from hakobune.engine import events as E

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"


@pytest.mark.root
def test_run_rm_records_docker_sequence(hk):
    t0 = time.time()
    hk.ok("run", "--rm", "--label", "ev=1", "--name", "ev-one", "busybox", "true")
    window = ["--since", f"{t0:.3f}", "--until", f"{time.time() + 0.5:.3f}"]
    out = hk.ok("events", *window, "--filter", "label=ev=1")
    lines = out.splitlines()
    actions = [line.split()[2] for line in lines]
    assert actions == ["create", "attach", "start", "die", "destroy"], out
    container_id = lines[0].split()[3]
    assert re.fullmatch(rf"{STAMP} container die {container_id} \(ev=1, exitCode=0, image=busybox, "
                        r"name=ev-one\)", lines[3]), lines[3]
    stamps = [line.split()[0] for line in lines]
    assert stamps == sorted(stamps)

    out = hk.ok("events", *window, "--filter", "container=ev-one", "--filter", "event=die",
                "--format", "{{json .}}")
    event = json.loads(out)
    assert list(event) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"]
    assert (event["status"], event["id"], event["from"], event["Type"]) == ("die", container_id, "busybox",
                                                                            "container")
    assert event["Actor"] == {"ID": container_id, "Attributes": {"ev": "1", "exitCode": "0", "image": "busybox",
                                                                 "name": "ev-one"}}
    assert event["time"] == event["timeNano"] // 10**9

    out = hk.ok("events", *window, "--filter", "type=container", "--filter", "event=start",
                "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    assert out == "container start ev-one\n"


@pytest.mark.root
def test_stop_kill_pause_rename_events(hk):
    t0 = time.time()
    hk.ok("run", "-d", "--name", "ev-two", "busybox", "sleep", "100")
    hk.ok("pause", "ev-two")
    hk.ok("unpause", "ev-two")
    hk.ok("rename", "ev-two", "ev-three")
    hk.ok("stop", "-t", "0", "ev-three")
    hk.ok("restart", "ev-three")
    hk.ok("kill", "-s", "KILL", "ev-three")
    hk.ok("rm", "ev-three")
    out = hk.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time() + 0.5:.3f}",
                "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert out.splitlines() == [
        "create ev-two", "start ev-two", "pause ev-two", "unpause ev-two", "rename ev-three",
        "kill ev-three", "die ev-three", "stop ev-three", "start ev-three", "restart ev-three",
        "kill ev-three", "die ev-three", "destroy ev-three"], out
    out = hk.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}", "--filter", "event=kill",
                "--format", "{{.Actor.Attributes.signal}}")
    assert out == "15\n9\n"
    out = hk.ok("events", "--since", f"{t0:.3f}", "--until", f"{time.time():.3f}", "--filter", "event=rename",
                "--format", "{{.Actor.Attributes.oldName}}")
    assert out == "/ev-two\n"


@pytest.mark.root
def test_image_events_and_other_types(hk):
    t0 = time.time()
    hk.ok("tag", "busybox", "ev-image:1")
    hk.ok("rmi", "ev-image:1")
    E.record_event(hk.root, "volume", "create", "myvol", {"driver": "local"})
    E.record_event(hk.root, "network", "create", "abc123", {"name": "mynet", "type": "bridge"})
    window = ["--since", f"{t0:.3f}", "--until", f"{time.time() + 0.2:.3f}"]
    out = hk.ok("events", *window, "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert out.splitlines() == ["tag ev-image:1", f"untag {hk.busybox_id}"], out
    out = hk.ok("events", *window, "--filter", "type=volume")
    assert re.fullmatch(rf"{STAMP} volume create myvol \(driver=local\)\n", out), out
    out = hk.ok("events", *window, "--filter", "network=mynet", "--format", "{{json .}}")
    event = json.loads(out)
    assert "status" not in event and event["Actor"]["ID"] == "abc123"
    proc = hk.run("events", *window, "--filter", "bogus=1")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: invalid filter 'bogus'\n")


@pytest.mark.root
def test_events_follow_live(hk):
    follower = subprocess.Popen([*hk.prefix, "events", "--filter",
                                 "type=container", "--format", "{{.Action}}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.6)  # the follower has started reading
        container_id = hk.ok("run", "-d", "busybox", "sleep", "100").strip()
        hk.ok("rm", "-f", container_id)
        deadline = time.monotonic() + 10
        seen = []
        os.set_blocking(follower.stdout.fileno(), False)
        while time.monotonic() < deadline and "destroy" not in seen:
            line = follower.stdout.readline()
            if line:
                seen.append(line.strip())
            else:
                time.sleep(0.05)
        assert seen == ["create", "start", "kill", "die", "destroy"], seen
        assert follower.poll() is None  # still following
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)


# --- the journal itself -----------------------------------------------------------------------

def _append_many(root: str, worker: int, count: int) -> None:
    for i in range(count):
        E.record_event(root, "container", "start", f"{worker:02d}{i:06d}" + "a" * 56, {"name": "x" * 300})


def test_concurrent_writers_never_interleave(tmp_path):
    root = str(tmp_path)
    workers = [multiprocessing.Process(target=_append_many, args=(root, n, 300)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    with open(os.path.join(root, "events", E.JOURNAL), "rb") as f:
        lines = f.read().splitlines()
    assert len(lines) == 1800
    assert all(json.loads(line)["Actor"]["Attributes"]["name"] == "x" * 300 for line in lines)


def test_journal_is_capped_and_follower_crosses_rotation(tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setattr(E, "JOURNAL_CAP", 20_000)
    E.record_event(root, "image", "pull", "first")
    follower = E.Follower(root)
    for i in range(400):
        E.record_event(root, "image", "tag", f"img{i}", {"name": f"img{i}"})
    sizes = [os.path.getsize(os.path.join(root, "events", n)) for n in (E.JOURNAL, E.PREVIOUS)]
    assert all(size <= 20_000 + E.LINE_LIMIT for size in sizes)
    kept = E.read_all(root)
    assert kept[-1]["Actor"]["ID"] == "img399" and len(kept) < 400
    followed = follower.poll()
    assert followed[-1]["Actor"]["ID"] == "img399"


def test_long_attributes_are_cut_to_one_atomic_line(tmp_path):
    root = str(tmp_path)
    E.record_event(root, "container", "create", "c" * 64, {"label": "v" * 10_000, "name": "n"})
    with open(os.path.join(root, "events", E.JOURNAL), "rb") as f:
        data = f.read()
    assert len(data) <= E.LINE_LIMIT and data.count(b"\n") == 1
    assert json.loads(data)["Actor"]["Attributes"]["name"] == "n"


@pytest.mark.root
def test_following_notices_exits_nobody_looked_at(hk):
    follower = subprocess.Popen([*hk.prefix, "events", "--filter",
                                 "event=die", "--format", "{{.Actor.Attributes.exitCode}}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.6)
        hk.ok("run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 4")  # no command looks at it afterwards
        os.set_blocking(follower.stdout.fileno(), False)
        deadline = time.monotonic() + 10
        line = ""
        while time.monotonic() < deadline and not line:
            line = follower.stdout.readline()
            time.sleep(0.05)
        assert line == "4\n"
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)
