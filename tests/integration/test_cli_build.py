"""`hakobune build` through the real binary: each instruction's effect seen by
running the built image or inspecting it, the history's rows, multi-stage
builds, .dockerignore, build args, ONBUILD, the layer cache, a failing RUN,
a malicious tarball in ADD, FROM scratch + ADD of a rootfs tarball, contexts
on stdin, RUN --mount and --network, ADD of a URL served on 127.0.0.1."""

import glob
import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import tarfile
import threading

import pytest

from cli_store import HAKOBUNE, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def write_context(directory, files: dict) -> str:
    for name, content in files.items():
        path = os.path.join(str(directory), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
    return str(directory)


def build(hk, context, *flags, expect_ok=True):
    proc = hk.run("build", *flags, context, timeout=180)
    if expect_ok:
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
    return proc


def image_config(hk, name: str) -> dict:
    return json.loads(hk.ok("image", "inspect", name))[0]["Config"]


def history(hk, name: str) -> list[str]:
    return hk.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}", name).splitlines()


def run_in(hk, image: str, *command) -> str:
    return hk.ok("run", "--rm", image, *command)


def assert_no_build_leftovers(hk):
    steps = os.path.join(hk.root, "build", "steps")
    assert not os.path.isdir(steps) or os.listdir(steps) == []
    assert [m for m in hk.mounts() if "/build/" in m] == []
    runtime = os.path.join(hk.runroot, "build-runtime")
    assert not os.path.isdir(runtime) or [n for n in os.listdir(runtime) if not n.startswith(".")] == []
    assert glob.glob("/sys/fs/cgroup/*/hakobune/build-*/") == glob.glob("/sys/fs/cgroup/hakobune/build-*/") == []


# --- instructions -------------------------------------------------------------------

def test_metadata_instructions_make_the_config_and_history(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": """\
FROM busybox:latest
MAINTAINER someone <a@b.c>
ENV GREETING=hello WHO="the world"
LABEL org.example.role=test "with space"=yes
EXPOSE 8080 53/udp
VOLUME /data
USER nobody
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=3 CMD echo ok
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/echo"]
CMD ["from", "cmd"]
"""})
    build(hk, context, "-t", "meta:1")
    config = image_config(hk, "meta:1")
    assert "GREETING=hello" in config["Env"] and "WHO=the world" in config["Env"]
    assert config["Labels"] == {"org.example.role": "test", "with space": "yes"}
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}}
    assert config["User"] == "nobody"
    assert config["StopSignal"] == "SIGUSR1"
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "echo ok"], "Interval": 5_000_000_000, "Retries": 3}
    assert config["Shell"] == ["/bin/sh", "-ec"]
    assert config["Entrypoint"] == ["/bin/echo"] and config["Cmd"] == ["from", "cmd"]
    assert json.loads(hk.ok("image", "inspect", "meta:1"))[0]["Author"] == "someone <a@b.c>"
    rows = history(hk, "meta:1")
    assert rows[0] == '/bin/sh -ec #(nop)  CMD ["from" "cmd"]'
    assert rows[1] == '/bin/sh -ec #(nop)  ENTRYPOINT ["/bin/echo"]'
    assert rows[2] == "/bin/sh -ec #(nop)  SHELL [/bin/sh -ec]"  # the new shell says it, as Docker
    assert rows[3] == ("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"echo ok\"] \"5s\" \"0s\" \"0s\" \"0s\" "
                       "'\\x03'}")
    assert rows[6] == "/bin/sh -c #(nop)  VOLUME [/data]"
    assert rows[7] == "/bin/sh -c #(nop)  EXPOSE 53/udp 8080"  # the words as written, sorted (as Docker)
    assert rows[9] == "/bin/sh -c #(nop)  ENV GREETING=hello WHO=the world"
    assert rows[10] == "/bin/sh -c #(nop)  MAINTAINER someone <a@b.c>"
    assert len(rows) == 12  # 11 steps + busybox's own
    assert run_in(hk, "meta:1") == "from cmd\n"
    assert_no_build_leftovers(hk)


def test_run_copy_workdir_and_history(hk, tmp_path):
    context = write_context(tmp_path, {
        "Dockerfile": """\
FROM busybox:latest
WORKDIR /app
COPY msg.txt .
COPY dir/ /app/dir/
COPY *.conf /etc/conf/
COPY --chown=nobody:nobody --chmod=600 msg.txt /owned
RUN echo "ran as $(id -u) in $(pwd)" > /app/ran && cat msg.txt
RUN ["/bin/sh", "-c", "echo exec form > /app/exec"]
RUN true
""",
        "msg.txt": "message in the build context\n",
        "dir/a": "a\n", "dir/sub/b": "b\n",
        "one.conf": "1\n", "two.conf": "2\n"})
    proc = build(hk, context, "-t", "fs:1")
    assert "message in the build context\n" in proc.stdout
    assert proc.stdout.startswith("Sending build context to Docker daemon  ")
    assert "Step 1/9 : FROM busybox:latest\n" in proc.stdout
    assert " ---> Running in " in proc.stdout and "Successfully tagged fs:1\n" in proc.stdout
    out = run_in(hk, "fs:1", "sh", "-c", "cat /app/ran /app/exec /app/msg.txt /app/dir/a /app/dir/sub/b "
                 "/etc/conf/one.conf /etc/conf/two.conf; stat -c '%U:%G %a' /owned; pwd")
    assert out == ("ran as 0 in /app\nexec form\nmessage in the build context\na\nb\n1\n2\n"
                   "nobody:nobody 600\n/app\n")
    rows = history(hk, "fs:1")
    assert rows[0] == "/bin/sh -c true"
    assert rows[1] == '/bin/sh -c echo exec form > /app/exec'
    assert rows[2] == '/bin/sh -c echo "ran as $(id -u) in $(pwd)" > /app/ran && cat msg.txt'
    assert rows[3].startswith("/bin/sh -c #(nop) COPY --chown=nobody:nobodyfile:") and rows[3].endswith(" in /owned ")
    assert rows[4].startswith("/bin/sh -c #(nop) COPY multi:") and rows[4].endswith(" in /etc/conf/ ")
    assert rows[5].startswith("/bin/sh -c #(nop) COPY dir:") and rows[5].endswith(" in /app/dir/ ")
    assert rows[7] == "/bin/sh -c #(nop) WORKDIR /app"
    sizes = hk.ok("history", "--format", "{{.Size}}", "fs:1").splitlines()
    assert sizes[0] == "0B"  # RUN true changed nothing: an empty layer, as docker commits it
    assert_no_build_leftovers(hk)


def test_build_args_and_their_history(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": """\
ARG BASE=busybox:latest
FROM $BASE
ARG GREETING=hello
ARG UNSET
RUN echo "$GREETING/$UNSET/$HTTP_PROXY" > /greeting
"""})
    proc = build(hk, context, "-t", "args:1", "--build-arg", "GREETING=hi-there", "--build-arg",
                 "HTTP_PROXY=http://proxy.invalid", "--build-arg", "NEVER_USED=1")
    assert "[Warning] One or more build-args [NEVER_USED] were not consumed" in proc.stdout
    assert run_in(hk, "args:1", "cat", "/greeting") == "hi-there//http://proxy.invalid\n"
    rows = history(hk, "args:1")
    # the proxy arg reaches the RUN but is not recorded; the declared one is
    assert rows[0] == '|1 GREETING=hi-there /bin/sh -c echo "$GREETING/$UNSET/$HTTP_PROXY" > /greeting'
    assert rows[2] == "/bin/sh -c #(nop)  ARG GREETING=hello"
    build(hk, context, "-t", "args:2")
    assert run_in(hk, "args:2", "cat", "/greeting") == "hello//\n"


def test_multi_stage_target_and_copy_from(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": """\
FROM busybox:latest AS builder
RUN mkdir -p /out && echo built > /out/artifact
FROM busybox:latest AS broken
RUN echo this stage is never built && false
FROM busybox:latest AS tester
COPY --from=builder /out/artifact /tested
RUN cat /tested
FROM busybox:latest
COPY --from=0 /out/ /final/
COPY --from=busybox:latest /bin/busybox /copied-busybox
"""})
    proc = build(hk, context, "-t", "multi:final")
    assert "never built" not in proc.stdout
    assert run_in(hk, "multi:final", "sh", "-c", "cat /final/artifact; test -x /copied-busybox && echo x") == \
        "built\nx\n"
    proc = build(hk, context, "-t", "multi:tester", "--target", "tester")
    assert "never built" not in proc.stdout and "Step 1/5 : FROM busybox:latest AS builder" in proc.stdout
    assert run_in(hk, "multi:tester", "cat", "/tested") == "built\n"
    proc = build(hk, context, "--target", "nope", expect_ok=False)
    assert proc.returncode == 1 and "failed to reach build target nope in Dockerfile" in proc.stderr


def test_dockerignore_with_exceptions_and_double_star(hk, tmp_path):
    context = write_context(tmp_path, {
        "Dockerfile": "FROM busybox:latest\nCOPY . /ctx/\n",
        ".dockerignore": "**/*.log\nsecret\ndocs\n!docs/keep.md\n",
        "app.py": "x\n", "a/b/debug.log": "no\n", "top.log": "no\n", "secret": "no\n",
        "docs/drop.md": "no\n", "docs/keep.md": "kept\n"})
    build(hk, context, "-t", "ignored:1")
    listing = run_in(hk, "ignored:1", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/app.py", "/ctx/docs/keep.md"]
    proc = build(hk, write_context(tmp_path / "second", {
        "Dockerfile": "FROM busybox:latest\nCOPY secret /\n", ".dockerignore": "secret\n", "secret": "s"}),
        expect_ok=False)
    assert proc.returncode == 1
    assert "Dockerfile:2: file not found in build context or excluded by .dockerignore" in proc.stderr
    proc = build(hk, write_context(tmp_path / "third", {"Dockerfile": "FROM busybox:latest\nCOPY ../x /\n"}),
                 expect_ok=False)
    assert "Dockerfile:2: forbidden path outside the build context: ../x" in proc.stderr


def test_onbuild_triggers_run_in_the_child_build(hk, tmp_path):
    parent = write_context(tmp_path / "parent", {"Dockerfile": """\
FROM busybox:latest
ONBUILD COPY hello.txt /from-child-context
ONBUILD RUN echo triggered > /triggered
"""})
    build(hk, parent, "-t", "onbuild-parent:1")
    assert image_config(hk, "onbuild-parent:1")["OnBuild"] == ["COPY hello.txt /from-child-context",
                                                                 "RUN echo triggered > /triggered"]
    child = write_context(tmp_path / "child", {"Dockerfile": "FROM onbuild-parent:1\n", "hello.txt": "hi\n"})
    proc = build(hk, child, "-t", "onbuild-child:1")
    assert "# Executing 2 build triggers" in proc.stdout
    assert run_in(hk, "onbuild-child:1", "cat", "/from-child-context", "/triggered") == "hi\ntriggered\n"
    assert image_config(hk, "onbuild-child:1")["OnBuild"] is None


# --- the cache ------------------------------------------------------------------------

def test_cache_hits_invalidation_and_no_cache(hk, tmp_path):
    context = write_context(tmp_path, {
        "Dockerfile": """\
FROM busybox:latest
ENV A=1
COPY one.txt /one
RUN cat /one > /copied-one
COPY two.txt /two
RUN cat /proc/sys/kernel/random/uuid > /stamp
""",
        "one.txt": "one\n", "two.txt": "two\n"})
    first = build(hk, context, "-t", "cached:1")
    assert "Using cache" not in first.stdout
    stamp = run_in(hk, "cached:1", "cat", "/stamp")
    second = build(hk, context, "-t", "cached:1")
    assert second.stdout.count(" ---> Using cache\n") == 5
    assert run_in(hk, "cached:1", "cat", "/stamp") == stamp
    image_id = hk.ok("image", "inspect", "-f", "{{.Id}}", "cached:1").strip()
    assert f"Successfully built {image_id[7:19]}" in second.stdout

    # mtime alone does not invalidate; content, mode do
    os.utime(os.path.join(context, "two.txt"), (1, 1))
    assert build(hk, context).stdout.count("Using cache") == 5
    with open(os.path.join(context, "two.txt"), "w") as f:
        f.write("changed\n")
    third = build(hk, context, "-t", "cached:1", "--explain-cache")
    assert " ---> Cache miss: the content or metadata of the files it copies changed\n" in third.stdout
    assert " ---> Cache miss: no step was cached on the parent image" in third.stdout  # the RUN after it
    assert third.stdout.count(" ---> Using cache\n") == 3  # ENV, COPY one, RUN: before the changed COPY
    assert run_in(hk, "cached:1", "cat", "/two") == "changed\n"
    assert run_in(hk, "cached:1", "cat", "/stamp") != stamp
    os.chmod(os.path.join(context, "one.txt"), 0o600)
    assert build(hk, context).stdout.count(" ---> Using cache\n") == 1

    # a different build arg value misses the RUN it reaches
    fourth = build(hk, context, "--no-cache", "-t", "cached:2")
    assert "Using cache" not in fourth.stdout


def test_builder_prune_forgets_the_cache(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": "FROM busybox:latest\nRUN --mount=type=cache,target=/c "
                                                     "echo x > /c/f\nLABEL pruned=1\n"})
    build(hk, context, "-t", "pruned:1")
    assert os.listdir(os.path.join(hk.root, "build", "cache-mounts"))
    out = hk.ok("builder", "prune", "-a", "-f")
    assert out.startswith("Deleted build cache objects:\n") and "Total reclaimed space: " in out
    assert os.listdir(os.path.join(hk.root, "build", "cache-mounts")) == []
    assert "Using cache" not in build(hk, context, "-t", "pruned:1").stdout


def test_cache_ignores_entries_of_removed_images(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": "FROM busybox:latest\nRUN echo x > /x\nLABEL k=v\n"})
    build(hk, context, "-t", "gone:1")
    hk.ok("rmi", "gone:1")
    proc = build(hk, context, "-t", "gone:1")
    assert "Using cache" not in proc.stdout  # the cached images were removed with it
    assert run_in(hk, "gone:1", "cat", "/x") == "x\n"


def test_run_mount_cache_persists_and_network_none(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": """\
FROM busybox:latest
ARG ROUND
RUN --mount=type=cache,target=/cache echo "$ROUND" >> /cache/rounds && cat /cache/rounds > /seen
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-seen
RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/f > /bound
RUN --network=none ls /sys/class/net > /interfaces
""", "data/f": "bound file\n"})
    build(hk, context, "-t", "mounts:1", "--build-arg", "ROUND=1")
    build(hk, context, "-t", "mounts:2", "--build-arg", "ROUND=2")
    assert run_in(hk, "mounts:2", "cat", "/seen") == "1\n2\n"
    assert run_in(hk, "mounts:2", "sh", "-c", "cat /tmpfs-seen /bound /interfaces; ls /cache /scratch /mnt "
                  "2>&1 | grep -c 'No such file'") == "x\nbound file\nlo\n3\n"
    assert_no_build_leftovers(hk)


# --- failures -------------------------------------------------------------------------

def test_failing_run_reports_its_exit_code_and_tags_nothing(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": "FROM busybox:latest\nRUN echo about to fail && exit 7\n"})
    proc = build(hk, context, "-t", "bad:1", expect_ok=False)
    assert proc.returncode == 7
    assert "about to fail\n" in proc.stdout
    assert proc.stderr.endswith("The command '/bin/sh -c echo about to fail && exit 7' returned a non-zero code: 7\n")
    assert hk.run("image", "inspect", "bad:1").returncode == 1
    assert_no_build_leftovers(hk)
    proc = build(hk, write_context(tmp_path / "parse", {"Dockerfile": "FROM busybox:latest\nFORM x\n"}),
                 expect_ok=False)
    assert proc.returncode == 1 and "Dockerfile:2: unknown instruction: FORM" in proc.stderr


def _tar_bytes(members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name: str, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _symlink(name: str, target: str):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def test_add_of_a_malicious_tarball_cannot_escape(hk, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    through_root_link = _tar_bytes([_symlink("link", "/"), _file("link/written", b"escaped?")])
    through_outside_link = _tar_bytes([_symlink("link", str(outside)), _file("link/written", b"escaped?")])
    absolute = _tar_bytes([_file(str(outside / "absolute"), b"absolute")])
    climbing = _tar_bytes([_file("../../../../../../.." + str(outside / "climbed"), b"climbed")])
    context = write_context(tmp_path / "ctx", {
        "root-link.tar": through_root_link, "absolute.tar.gz": gzip.compress(absolute),
        "outside-link.tar": through_outside_link, "climbing.tar": climbing,
        "Dockerfile": "FROM busybox:latest\nADD root-link.tar /x/\nADD absolute.tar.gz /y/\n"})
    build(hk, context, "-t", "evil:1")
    assert os.listdir(outside) == []
    # inside the image: the link resolved in the destination, the absolute name made relative to it
    out = run_in(hk, "evil:1", "sh", "-c", f"cat /x/written /y{outside}/absolute")
    assert out == "escaped?absolute"
    for name in ("outside-link.tar", "climbing.tar"):
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write(f"FROM busybox:latest\nADD {name} /z/\n")
        proc = build(hk, context, expect_ok=False)
        assert proc.returncode == 1 and "Dockerfile:2: layer entry" in proc.stderr, proc.stderr
        assert os.listdir(outside) == []
    assert_no_build_leftovers(hk)


# --- the article's image, contexts -----------------------------------------------------

def test_from_scratch_add_rootfs_tarball(hk, tmp_path):
    with open(hk.tar, "rb") as f:
        rootfs = gzip.compress(f.read())
    context = write_context(tmp_path, {"rootfs.tar.gz": rootfs,
                                       "Dockerfile": 'FROM scratch\nADD rootfs.tar.gz /\nCMD ["/bin/sh"]\n'})
    proc = build(hk, context, "-t", "mini:latest")
    assert "Step 1/3 : FROM scratch\n ---> \nStep 2/3 : ADD rootfs.tar.gz /\n" in proc.stdout
    assert run_in(hk, "mini:latest", "sh", "-c", "echo hello from $(cat /etc/passwd | head -c 4)") == \
        "hello from root\n"
    inspect = json.loads(hk.ok("image", "inspect", "mini:latest"))[0]
    assert inspect["Config"]["Cmd"] == ["/bin/sh"] and len(inspect["RootFS"]["Layers"]) == 1
    rows = history(hk, "mini:latest")
    assert rows[0] == '/bin/sh -c #(nop)  CMD ["/bin/sh"]' and rows[1].startswith("/bin/sh -c #(nop) ADD file:")
    assert len(rows) == 2


def test_context_on_stdin_dockerfile_elsewhere_quiet_and_iidfile(hk, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM busybox:latest\nCOPY f /f\n"), ("f", b"from stdin\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    iid = tmp_path / "iid"
    proc = subprocess.run([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "build", "-q", "--iidfile",
                           str(iid), "-t", "stdin:1", "-"], input=buffer.getvalue(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    image_id = proc.stdout.decode().strip()
    assert image_id.startswith("sha256:") and iid.read_text() == image_id
    assert run_in(hk, "stdin:1", "cat", "/f") == "from stdin\n"

    context = write_context(tmp_path / "ctx", {"data": "d\n"})
    dockerfile = write_context(tmp_path / "elsewhere", {"Build.df": "FROM busybox:latest\nCOPY data /data\n"})
    build(hk, context, "-f", os.path.join(dockerfile, "Build.df"), "-t", "elsewhere:1", "-t", "elsewhere:2")
    assert run_in(hk, "elsewhere:2", "cat", "/data") == "d\n"

    proc = subprocess.run([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "build", "-t", "stdin:2",
                           "-f", "-", context], input=b"FROM busybox:latest\nCOPY data /d2\n",
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert run_in(hk, "stdin:2", "cat", "/d2") == "d\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"downloaded content\n"

    def do_GET(self):  # noqa: N802 - the base class's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_add_of_a_url_with_checksum(hk, tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/files/payload.txt"
        digest = "sha256:" + hashlib.sha256(_Handler.body).hexdigest()
        context = write_context(tmp_path, {"Dockerfile": f"FROM busybox:latest\nADD --checksum={digest} {url} /dl/\n"})
        build(hk, context, "-t", "url:1")
        assert run_in(hk, "url:1", "sh", "-c", "cat /dl/payload.txt; stat -c %a /dl/payload.txt") == \
            "downloaded content\n600\n"
        bad = "sha256:" + "0" * 64
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write(f"FROM busybox:latest\nADD --checksum={bad} {url} /dl/\n")
        proc = build(hk, context, expect_ok=False)
        assert proc.returncode == 1 and "digest mismatch" in proc.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_heredocs_user_and_platform(hk, tmp_path):
    context = write_context(tmp_path, {"Dockerfile": """\
FROM busybox:latest
COPY <<EOF /etc/greeting
hello heredoc
EOF
RUN <<EOT
echo one > /one
echo two >> /one
EOT
USER nobody
RUN id -u > /tmp/uid
"""})
    build(hk, context, "-t", "heredoc:1", "--platform", "linux/" + json.loads(
        hk.ok("image", "inspect", "busybox:latest"))[0]["Architecture"])
    assert run_in(hk, "heredoc:1", "cat", "/etc/greeting", "/one", "/tmp/uid") == "hello heredoc\none\ntwo\n65534\n"
    other = "linux/arm64" if os.uname().machine == "x86_64" else "linux/amd64"
    proc = build(hk, context, "--platform", other, expect_ok=False)
    assert proc.returncode == 1 and f"platform {other} is not this host's" in proc.stderr


def test_bind_from_a_stage_xz_archives_link_and_host_network(hk, tmp_path):
    import lzma

    payload = _tar_bytes([_file("pkg/readme", b"from xz\n")])
    context = write_context(tmp_path, {"pkg.tar.xz": lzma.compress(payload), "plain.txt": "p\n", "Dockerfile": """\
FROM busybox:latest AS assets
RUN mkdir /assets && echo asset > /assets/a
FROM busybox:latest
RUN --mount=type=bind,from=assets,source=/assets,target=/mnt/assets cat /mnt/assets/a > /from-stage
ADD pkg.tar.xz /opt/
COPY --link plain.txt /linked
RUN ls /sys/class/net | sort > /host-interfaces
"""})
    build(hk, context, "-t", "misc:1")
    out = run_in(hk, "misc:1", "sh", "-c", "cat /from-stage /opt/pkg/readme /linked; ls /mnt 2>&1 | head -c 0")
    assert out == "asset\nfrom xz\np\n"
    # the default network of a RUN is the host's for now: the host's interfaces are seen
    # (other tests may add or remove veths meanwhile: compare what is stable)
    seen = set(run_in(hk, "misc:1", "cat", "/host-interfaces").split())
    host_interfaces = set(os.listdir("/sys/class/net"))
    assert "lo" in seen and (len(host_interfaces) == 1 or (seen - {"lo"}) & host_interfaces)


def test_interrupted_build_leaves_nothing_behind(hk, tmp_path):
    import signal
    import time

    context = write_context(tmp_path, {"Dockerfile": "FROM busybox:latest\nRUN echo started && sleep 4711\n"})
    process = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, "build", "-t", "cut:1",
                                context], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        line = ""
        while "started" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        assert "started" in line
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert hk.run("image", "inspect", "cut:1").returncode == 1
    assert_no_build_leftovers(hk)
    assert subprocess.run(["pgrep", "-f", "^sleep 4711$"], capture_output=True).stdout == b""
