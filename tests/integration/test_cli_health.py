"""Health checks run by the monitor through the runtime's exec: starting,
healthy and unhealthy with the failing streak and the last five results in
inspect's State.Health; the image's HEALTHCHECK and --no-healthcheck."""

import json
import tarfile
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def health(hk, container_id):
    return json.loads(hk.ok("inspect", "-f", "{{json .State.Health}}", container_id))


def wait_for_status(hk, container_id, status, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = health(hk, container_id)
        if current and current["Status"] == status:
            return current
        time.sleep(0.1)
    raise AssertionError(f"health never became {status}: {health(hk, container_id)}")


def test_healthy_then_unhealthy(hk):
    container_id = hk.ok("run", "-d", "--health-cmd", "cat /tmp/ok", "--health-interval", "200ms",
                         "--health-retries", "2", "--health-timeout", "5s", "busybox", "sh", "-c",
                         "echo fine > /tmp/ok; sleep 60").strip()
    starting = health(hk, container_id)
    assert starting["Status"] in ("starting", "healthy")
    healthy = wait_for_status(hk, container_id, "healthy")
    assert healthy["FailingStreak"] == 0
    assert hk.ok("ps", "--format", "{{.Status}}").strip().endswith("(healthy)")
    entry = healthy["Log"][-1]
    assert set(entry) == {"Start", "End", "ExitCode", "Output"}
    assert (entry["ExitCode"], entry["Output"]) == (0, "fine\n")
    assert entry["Start"] <= entry["End"] and entry["Start"].endswith("Z")
    if hk.run("exec", "--help").returncode != 0:
        pytest.skip("exec is not there yet")
    hk.ok("exec", container_id, "rm", "/tmp/ok")
    unhealthy = wait_for_status(hk, container_id, "unhealthy")
    assert unhealthy["FailingStreak"] >= 2
    assert hk.ok("ps", "--format", "{{.Status}}").strip().endswith("(unhealthy)")
    assert unhealthy["Log"][-1]["ExitCode"] == 1
    time.sleep(1.5)
    assert len(health(hk, container_id)["Log"]) == 5  # only the last five results are kept


def test_exec_form_timeout_and_start_period(hk):
    container_id = hk.ok("run", "-d", "--health-cmd", "sleep 5", "--health-interval", "200ms", "--health-timeout",
                         "300ms", "--health-retries", "1", "busybox", "sleep", "60").strip()
    unhealthy = wait_for_status(hk, container_id, "unhealthy")
    assert unhealthy["Log"][0]["ExitCode"] == -1
    assert unhealthy["Log"][0]["Output"] == "Health check exceeded timeout (300ms)"
    # failures within the start period do not count while starting
    patient = hk.ok("run", "-d", "--health-cmd", "false", "--health-interval", "200ms", "--health-retries", "1",
                    "--health-start-period", "30s", "busybox", "sleep", "60").strip()
    time.sleep(1.5)
    current = health(hk, patient)
    assert current["Status"] == "starting" and current["FailingStreak"] == 0 and current["Log"]
    rows = hk.ok("ps", "--no-trunc", "--format", "{{.ID}} {{.Status}}").splitlines()
    assert any(row.startswith(patient) and row.endswith("(health: starting)") for row in rows), rows


def image_with_healthcheck(hk, tmp_path, healthcheck: dict, tag: str) -> None:
    """busybox:latest saved, its config given a Healthcheck, loaded as `tag`
    (a docker-archive with manifest.json only)."""
    import hashlib
    import io

    saved = tmp_path / "saved.tar"
    hk.ok("save", "-o", str(saved), "busybox:latest")
    with tarfile.open(saved) as t:
        manifest = json.loads(t.extractfile("manifest.json").read())[0]
        config = json.loads(t.extractfile(manifest["Config"]).read())
        layers = {name: t.extractfile(name).read() for name in manifest["Layers"]}
    config["config"]["Healthcheck"] = healthcheck
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    out = tmp_path / "health.tar"
    with tarfile.open(out, "w") as t:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))

        add(config_name, config_bytes)
        for name, data in layers.items():
            add(name, data)
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag],
                                          "Layers": manifest["Layers"]}]).encode())
    hk.ok("load", "-i", str(out))


def test_image_healthcheck_applies_unless_disabled(hk, tmp_path):
    image_with_healthcheck(hk, tmp_path, {"Test": ["CMD", "true"], "Interval": 200_000_000, "Retries": 1},
                           "busybox:health")
    try:
        container_id = hk.ok("run", "-d", "busybox:health", "sleep", "60").strip()
        assert json.loads(hk.ok("inspect", "-f", "{{json .Config.Healthcheck}}", container_id)) == \
            {"Test": ["CMD", "true"], "Interval": 200_000_000, "Retries": 1}
        wait_for_status(hk, container_id, "healthy")
        overridden = hk.ok("create", "--health-interval", "1s", "busybox:health", "sleep", "60").strip()
        assert json.loads(hk.ok("inspect", "-f", "{{json .Config.Healthcheck}}", overridden)) == \
            {"Test": ["CMD", "true"], "Interval": 1_000_000_000, "Retries": 1}
        disabled = hk.ok("run", "-d", "--no-healthcheck", "busybox:health", "sleep", "60").strip()
        # Docker merges field by field: the image's interval stays beside NONE
        assert json.loads(hk.ok("inspect", "-f", "{{json .Config.Healthcheck}}", disabled))["Test"] == ["NONE"]
        time.sleep(0.6)
        assert hk.ok("inspect", "-f", "{{json .State.Health}}", disabled).strip() in ("null", "<no value>")
    finally:
        hk.cleanup()
        hk.run("rmi", "busybox:health")


def test_health_restarts_with_the_container(hk):
    container_id = hk.ok("run", "-d", "--health-cmd", "true", "--health-interval", "200ms", "busybox",
                         "sleep", "60").strip()
    wait_for_status(hk, container_id, "healthy")
    hk.ok("stop", "-t", "0", container_id)
    hk.ok("start", container_id)
    assert health(hk, container_id)["Status"] in ("starting", "healthy")
    wait_for_status(hk, container_id, "healthy")
