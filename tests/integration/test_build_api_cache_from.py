"""POST /build's ``cachefrom`` through `hakobune serve`: the docker CLI's
classic builder (DOCKER_BUILDKIT=0) with --cache-from an image that was
saved, removed and loaded again, so that only --cache-from can reuse it."""

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]

LEGACY = {"DOCKER_BUILDKIT": "0"}


def test_api_build_cache_from_a_loaded_image(api, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox:local\nCOPY msg.txt /msg.txt\nRUN cat /msg.txt > /copy\n")
    (tmp_path / "msg.txt").write_text("cached\n")
    archive = str(tmp_path / "image.tar")
    try:
        proc = api.docker("build", "-q", "-t", "apicache:v1", str(tmp_path), env=LEGACY)
        assert proc.returncode == 0, proc.stderr
        original = proc.stdout.strip()
        assert api.docker("save", "-o", archive, "apicache:v1").returncode == 0
        assert api.docker("rmi", "apicache:v1").returncode == 0
        assert api.docker("builder", "prune", "-af").returncode == 0  # the local cache forgets it
        assert api.docker("load", "-i", archive).returncode == 0
        proc = api.docker("build", "--cache-from", "apicache:v1", "-t", "apicache:v2", str(tmp_path), env=LEGACY)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count(" ---> Using cache") == 2 and "Running in" not in proc.stdout
        assert proc.stdout.splitlines()[-2] == f"Successfully built {original[7:19]}"
    finally:
        api.docker("rmi", "apicache:v1", "apicache:v2")
