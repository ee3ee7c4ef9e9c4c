"""POST /build (the classic builder) through `hakobune serve`: the docker
CLI with DOCKER_BUILDKIT=0 and docker-py's images.build
(shared/reference/engine-api/docker-build-legacy*.md, dockerpy-images-build.md)."""

import io
import json
import tarfile

import pytest

from api_server import DOCKER, api  # noqa: F401 - fixture

pytestmark = [pytest.mark.root, pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")]

LEGACY = {"DOCKER_BUILDKIT": "0"}
DOCKERFILE = """FROM busybox:local
ARG GREETING=hello
LABEL apitest=1
COPY msg.txt /msg.txt
RUN echo $GREETING > /greet && cat /msg.txt
CMD ["cat", "/greet"]
"""


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile.api").write_text(DOCKERFILE)
    (tmp_path / "msg.txt").write_text("from the context\n")
    (tmp_path / "Dockerfile.bad").write_text("FROM busybox:local\nRUN echo about to fail && exit 7\n")
    return tmp_path


def test_legacy_build_with_args_and_labels(api, context):
    try:
        proc = api.docker("build", "-t", "apibuilt:v1", "-f", str(context / "Dockerfile.api"),
                          "--build-arg", "GREETING=hi-there", "--label", "extra=1", str(context), env=LEGACY)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].startswith("Sending build context to Docker daemon")
        assert "Step 1/7 : FROM busybox:local" in lines and "from the context" in lines
        assert lines[-2].startswith("Successfully built ") and lines[-1] == "Successfully tagged apibuilt:v1"
        image = json.loads(api.docker("image", "inspect", "apibuilt:v1").stdout)[0]
        assert image["Id"][7:19] == lines[-2].split()[-1]
        assert image["Config"]["Labels"] == {"apitest": "1", "extra": "1"}
        proc = api.docker("run", "--rm", "apibuilt:v1")
        assert (proc.returncode, proc.stdout) == (0, "hi-there\n"), proc.stderr
        proc = api.docker("build", "-q", "-t", "apibuilt:v1", "-f", str(context / "Dockerfile.api"), str(context),
                          env=LEGACY)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("sha256:") and len(proc.stdout.strip()) == 71
    finally:
        api.docker("rmi", "apibuilt:v1")


def test_legacy_build_failure(api, context):
    proc = api.docker("build", "-t", "apibad:v1", "-f", str(context / "Dockerfile.bad"), str(context), env=LEGACY)
    assert proc.returncode == 7
    assert "about to fail\n" in proc.stdout
    assert "The command '/bin/sh -c echo about to fail && exit 7' returned a non-zero code: 7" in proc.stderr
    assert api.docker("image", "inspect", "apibad:v1").returncode == 1


def test_missing_dockerfile_is_an_error(api, context):
    proc = api.docker("build", "-f", str(context / "Dockerfile.none"), str(context), env=LEGACY)
    assert proc.returncode != 0


def test_docker_py_build_from_a_gzip_context(api):
    docker = pytest.importorskip("docker")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b'FROM busybox:local\nARG X=0\nRUN echo "x=$X" > /x\n'
        member = tarfile.TarInfo("Dockerfile")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    archive.seek(0)
    client = docker.DockerClient(base_url=api.host, version="auto")
    try:
        image, log = client.images.build(fileobj=archive, custom_context=True, encoding="gzip",
                                         tag="apipybuilt:v1", buildargs={"X": "1"})
        log = list(log)
        assert {"aux": {"ID": image.id}} in log
        assert log[-1] == {"stream": "Successfully tagged apipybuilt:v1\n"}
        output = client.containers.run("apipybuilt:v1", ["cat", "/x"], remove=True)
        assert output == b"x=1\n"
        with pytest.raises(docker.errors.BuildError) as raised:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox:local\nRUN exit 3\n"), tag="apipybad:v1")
        assert "returned a non-zero code: 3" in str(raised.value)
    finally:
        api.docker("rmi", "apipybuilt:v1")
        client.close()
