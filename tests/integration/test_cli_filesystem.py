"""diff, commit, cp and export through the real `hakobune` binary, on real
containers of the busybox image (an overlay rootfs, running or stopped),
against docker's recorded outputs.  Every image a test makes is removed,
and the `hk` fixture checks that no container, mount or state is left."""

import contextlib
import io
import json
import os
import subprocess
import tarfile
import time
import uuid

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root

CHANGES = ("rm /bin/arch; echo extra >> /etc/passwd; mkdir /newdir; echo hi > /newdir/f; "
           "rm -rf /usr/sbin; rm -rf /var; mkdir /var; touch /var/new; touch /ready; sleep 300")
EXPECTED_DIFF = ["C /bin", "D /bin/arch", "C /etc", "C /etc/passwd", "A /newdir", "A /newdir/f", "A /ready",
                 "C /usr", "D /usr/sbin", "D /var", "A /var/new"]


def _start(hk, *args, ready: str = "/ready", name: str | None = None) -> str:
    """A detached container, once `ready` exists in it."""
    name = name or f"fs-{uuid.uuid4().hex[:8]}"
    hk.ok("run", "-d", "--name", name, *args)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if hk.run("cp", f"{name}:{ready}", "-").returncode == 0:
            return name
        time.sleep(0.1)
    raise AssertionError(f"{ready} never appeared in {name}: {hk.run('logs', name)}")


def _file_of(hk, container: str, path: str) -> bytes:
    """The content of a regular file of the container, through `cp CONTAINER:PATH -`."""
    proc = subprocess.run([*hk.prefix, "cp", f"{container}:{path}", "-"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        member = archive.next()
        return archive.extractfile(member).read()


@contextlib.contextmanager
def _images(hk):
    """Names of images the test makes; containers using them and then the images are removed after."""
    made: list[str] = []
    try:
        yield made
    finally:
        hk.cleanup()
        for image in reversed(made):
            hk.run("rmi", "-f", image)


# --- diff --------------------------------------------------------------------------------

def test_diff_of_a_running_then_stopped_container(hk):
    name = _start(hk, "busybox", "sh", "-c", CHANGES)
    assert hk.ok("diff", name).splitlines() == EXPECTED_DIFF
    hk.ok("stop", "-t", "0", name)
    assert hk.mounts() == []
    assert hk.ok("diff", name).splitlines() == EXPECTED_DIFF  # read from the upper directory, nothing mounted
    assert hk.mounts() == []


def test_diff_of_an_untouched_container_is_empty(hk):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    assert hk.ok("diff", name) == ""  # the engine's /etc/hostname, hosts, resolv.conf are not reported


def test_diff_errors(hk):
    proc = hk.run("diff", "nosuch")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


# --- commit ---------------------------------------------------------------------------------

def test_commit_then_run_the_new_image(hk):
    with _images(hk) as made:
        name = _start(hk, "busybox", "sh", "-c", CHANGES)
        proc = hk.run("commit", "-a", "tester", "-m", "my commit", "-c", "ENV COMMITTED=1",
                      "-c", 'CMD ["cat", "/newdir/f"]', name, "committed:v1")
        assert proc.returncode == 0, proc.stderr
        made.append("committed:v1")
        image_id = proc.stdout.strip()
        assert image_id.startswith("sha256:") and len(image_id) == 71
        # paused meanwhile, running after
        assert json.loads(hk.ok("inspect", name))[0]["State"]["Running"] is True

        inspect = json.loads(hk.ok("image", "inspect", "committed:v1"))[0]
        container_id = json.loads(hk.ok("inspect", name))[0]["Id"]
        assert inspect["Id"] == image_id
        assert inspect["Author"] == "tester" and inspect["Container"] == container_id
        assert inspect["Parent"] == hk.busybox_id
        assert inspect["Config"]["Cmd"] == ["cat", "/newdir/f"]
        assert "COMMITTED=1" in inspect["Config"]["Env"]
        assert inspect["ContainerConfig"]["Cmd"] == ["sh", "-c", CHANGES]
        assert len(inspect["RootFS"]["Layers"]) == 2
        # the engine's files never go into the layer
        layer = inspect["GraphDriver"]["Data"]["UpperDir"]
        assert sorted(os.listdir(layer)) == ["bin", "etc", "newdir", "ready", "usr", "var"]
        assert sorted(os.listdir(os.path.join(layer, "etc"))) == ["passwd"]

        history = hk.ok("history", "--no-trunc", "--format", "{{.Comment}}|{{.CreatedBy}}", "committed:v1")
        assert history.splitlines()[0] == f"my commit|sh -c {CHANGES}"

        run = _start(hk, "committed:v1", "sh", "-c", "echo $COMMITTED > /out; ls /usr /var > /listing; "
                     "touch /done; sleep 300", ready="/done")
        assert _file_of(hk, run, "/out") == b"1\n"
        assert _file_of(hk, run, "/newdir/f") == b"hi\n"
        assert _file_of(hk, run, "/listing") == b"/usr:\nbin\n\n/var:\nnew\n"
        assert hk.ok("diff", run).splitlines() == ["A /done", "A /listing", "A /out"]
        with pytest.raises(AssertionError):
            _file_of(hk, run, "/bin/arch")


def test_commit_without_changes_adds_an_empty_layer_entry(hk):
    with _images(hk) as made:
        name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
        image_id = hk.ok("commit", "--pause=false", name).strip()
        made.append(image_id)
        inspect = json.loads(hk.ok("image", "inspect", image_id))[0]
        assert len(inspect["RootFS"]["Layers"]) == 1
        assert inspect["RepoTags"] == []
        assert hk.ok("history", "--format", "{{.Size}}", image_id).splitlines()[0] == "0B"


def test_commit_errors(hk):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    proc = hk.run("commit", "-c", "FROM busybox", name)
    assert proc.returncode == 1 and "from is not a valid change command" in proc.stderr, proc.stderr
    proc = hk.run("commit", "nosuch")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


# --- cp -------------------------------------------------------------------------------------

@pytest.fixture
def local(tmp_path):
    (tmp_path / "src" / "d" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "d" / "one.txt").write_text("one\n")
    (tmp_path / "src" / "d" / "sub" / "two.txt").write_text("two\n")
    (tmp_path / "src" / "f.txt").write_text("file\n")
    (tmp_path / "out").mkdir()
    return tmp_path


def test_cp_into_a_container(hk, local):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    src = local / "src"
    hk.ok("cp", str(src / "d"), f"{name}:/cpdir")              # a directory to a new path
    hk.ok("cp", str(src / "d"), f"{name}:/cpdir")              # ... then into it, as itself
    hk.ok("cp", str(src / "d") + "/.", f"{name}:/contents")    # SRC/. : its contents
    hk.ok("cp", str(src / "f.txt"), f"{name}:/tmp")            # a file into a directory
    hk.ok("cp", str(src / "f.txt"), f"{name}:/tmp/g.txt")      # a file onto a new name
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as archive:
        info = tarfile.TarInfo("streamed.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"st\n"))
    proc = subprocess.run([*hk.prefix, "cp", "-", f"{name}:/tmp"],
                          input=stream.getvalue(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert hk.ok("diff", name).splitlines() == [
        "A /contents", "A /contents/one.txt", "A /contents/sub", "A /contents/sub/two.txt",
        "A /cpdir", "A /cpdir/d", "A /cpdir/d/one.txt", "A /cpdir/d/sub", "A /cpdir/d/sub/two.txt",
        "A /cpdir/one.txt", "A /cpdir/sub", "A /cpdir/sub/two.txt",
        "C /tmp", "A /tmp/f.txt", "A /tmp/g.txt", "A /tmp/streamed.txt"]
    assert _file_of(hk, name, "/tmp/streamed.txt") == b"st\n"
    assert _file_of(hk, name, "/cpdir/sub/two.txt") == b"two\n"


def test_cp_out_of_a_container(hk, local):
    name = _start(hk, "busybox", "sh", "-c", "mkdir -p /cpdir/sub; echo one > /cpdir/one.txt; "
                  "echo two > /cpdir/sub/two.txt; touch /ready; sleep 300")
    out = local / "out"
    hk.ok("cp", f"{name}:/cpdir", str(out / "new"))
    hk.ok("cp", f"{name}:/cpdir", str(out / "new"))
    hk.ok("cp", f"{name}:/cpdir/.", str(out / "contents"))
    hk.ok("cp", f"{name}:/cpdir/one.txt", str(out))
    hk.ok("cp", f"{name}:/cpdir/one.txt", str(out / "renamed.txt"))
    found = sorted(os.path.relpath(os.path.join(d, f), out) for d, dirs, files in os.walk(out) for f in files)
    assert found == ["contents/one.txt", "contents/sub/two.txt", "new/cpdir/one.txt", "new/cpdir/sub/two.txt",
                     "new/one.txt", "new/sub/two.txt", "one.txt", "renamed.txt"]
    assert (out / "renamed.txt").read_text() == "one\n"

    proc = subprocess.run([*hk.prefix, "cp", f"{name}:/cpdir/one.txt",
                           "-"], capture_output=True, timeout=60)
    assert proc.returncode == 0 and len(proc.stdout) == 2048  # as docker's: no padding to 10 KiB records
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        assert [(m.name, m.size, m.uid) for m in archive.getmembers()] == [("one.txt", 4, 0)]


def test_cp_errors(hk, local):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    src, out = local / "src", local / "out"
    proc = hk.run("cp", f"{name}:/nope", str(out))
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1, "", f"Error response from daemon: Could not find the file /nope in container {name}\n")
    proc = hk.run("cp", str(src / "f.txt"), f"{name}:/nodir/")
    assert (proc.returncode, proc.stderr) == (1, "no such directory\n")
    proc = hk.run("cp", str(src / "f.txt"), f"{name}:/etc/passwd/")
    assert (proc.returncode, proc.stderr) == (1, "no such directory\n")
    proc = hk.run("cp", f"{name}:/etc", str(src / "f.txt"))
    assert (proc.returncode, proc.stderr) == (1, "cannot copy directory\n")
    proc = hk.run("cp", str(src / "nope"), f"{name}:/")
    assert (proc.returncode, proc.stderr) == (1, f"lstat {src / 'nope'}: no such file or directory\n")
    proc = hk.run("cp", "a", "b")
    assert (proc.returncode, proc.stderr) == (1, "must specify at least one container source\n")
    proc = hk.run("cp", f"{name}:/a", f"{name}:/b")
    assert (proc.returncode, proc.stderr) == (1, "copying between containers is not supported\n")
    proc = hk.run("cp", str(src / "d"), f"{name}:/etc/passwd")
    assert (proc.returncode, proc.stderr) == (1, "cannot copy directory\n")
    proc = hk.run("cp", str(src / "f.txt"), "nosuch:/")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


def test_cp_follows_symlinks_inside_the_container_only(hk, local):
    marker = f"hk-escape-{uuid.uuid4().hex[:8]}.txt"
    (local / "src" / marker).write_text("inside\n")
    name = _start(hk, "busybox", "sh", "-c", "ln -s / /link; ln -s /etc /etclink; ln -s ../../../../../.. /up; "
                  "touch /ready; sleep 300")
    try:
        hk.ok("cp", str(local / "src" / marker), f"{name}:/link/")
        hk.ok("cp", str(local / "src" / marker), f"{name}:/up/tmp/")
        hk.ok("cp", str(local / "src" / marker), f"{name}:/etclink/")
        stream = io.BytesIO()
        with tarfile.open(fileobj=stream, mode="w") as archive:
            archive.add(str(local / "src" / marker), arcname=f"usr/{marker}")
        proc = subprocess.run([*hk.prefix, "cp", "-", f"{name}:/up"],
                              input=stream.getvalue(), capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        for path in (f"/{marker}", f"/tmp/{marker}", f"/etc/{marker}", f"/usr/{marker}"):
            assert not os.path.exists(path), path
            assert _file_of(hk, name, path) == b"inside\n"
        # reading through a link gives the container's file, not the host's
        assert _file_of(hk, name, "/etclink/passwd") == _file_of(hk, name, "/etc/passwd")
        assert _file_of(hk, name, "/up/etc/group") == _file_of(hk, name, "/etc/group")
        hk.ok("cp", "-L", f"{name}:/etclink", str(local / "out" / "etc"))
        assert (local / "out" / "etc" / "passwd").read_bytes() == _file_of(hk, name, "/etc/passwd")
        hk.ok("cp", f"{name}:/etclink", str(local / "out" / "link"))
        assert os.readlink(local / "out" / "link") == "/etc"
    finally:
        for path in (f"/{marker}", f"/tmp/{marker}", f"/etc/{marker}", f"/usr/{marker}"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def test_cp_with_a_stopped_container(hk, local):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    hk.ok("stop", "-t", "0", name)
    assert hk.mounts() == []
    hk.ok("cp", str(local / "src" / "f.txt"), f"{name}:/")
    assert hk.mounts() == []
    hk.ok("cp", f"{name}:/f.txt", str(local / "out" / "back.txt"))
    assert (local / "out" / "back.txt").read_text() == "file\n"
    assert hk.mounts() == []
    assert hk.ok("diff", name) == "A /f.txt\n"


# --- export ------------------------------------------------------------------------------------

def test_export_then_import(hk, local):
    with _images(hk) as made:
        name = _start(hk, "busybox", "sh", "-c", "echo exported > /marker; touch /ready; sleep 300")
        target = local / "out" / "export.tar"
        hk.ok("export", "-o", str(target), name)
        with tarfile.open(target) as archive:
            names = archive.getnames()
            assert archive.extractfile("marker").read() == b"exported\n"
        assert "bin/busybox" in names and "marker" in names and not any(n.startswith("/") for n in names)
        proc = subprocess.run([*hk.prefix, "export", name],
                              capture_output=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout == target.read_bytes()

        image_id = hk.ok("import", str(target), "exported:1").strip()
        made.append("exported:1")
        assert image_id.startswith("sha256:")
        run = _start(hk, "exported:1", "sleep", "300", ready="/marker")
        assert _file_of(hk, run, "/marker") == b"exported\n"


def test_export_refuses_a_terminal(hk):
    import pty

    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([*hk.prefix, "export", name],
                              stdout=follower, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(follower)
        os.close(leader)
    assert (proc.returncode, proc.stderr) == (
        1, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
    proc = hk.run("export", "-o", "/nonexistent-dir/x.tar", name)
    assert (proc.returncode, proc.stderr) == (
        1, 'failed to export container: invalid output path: directory "/nonexistent-dir" does not exist\n')


def test_cp_sees_the_engines_hostname_hosts_and_resolv_conf(hk, local):
    name = _start(hk, "busybox", "sleep", "300", ready="/etc/group")
    container_id = json.loads(hk.ok("inspect", name))[0]["Id"]
    mounts = hk.mounts()
    assert _file_of(hk, name, "/etc/hostname") == f"{container_id[:12]}\n".encode()
    with open(os.path.join(hk.root, "containers", container_id, "hosts"), "rb") as f:
        hosts = f.read()
    assert b"localhost" in hosts and _file_of(hk, name, "/etc/hosts") == hosts
    hk.ok("cp", f"{name}:/etc", str(local / "out" / "etc"))
    with open(os.path.join(hk.root, "containers", container_id, "resolv.conf"), "rb") as f:
        assert (local / "out" / "etc" / "resolv.conf").read_bytes() == f.read()
    assert hk.mounts() == mounts  # the binds are gone again
    hk.ok("stop", "-t", "0", name)
    assert _file_of(hk, name, "/etc/hostname") == f"{container_id[:12]}\n".encode()
    assert hk.mounts() == []
    assert hk.ok("diff", name) == ""


def _owner_of(hk, container: str, path: str) -> tuple[int, int]:
    proc = subprocess.run([*hk.prefix, "cp", f"{container}:{path}", "-"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        member = archive.next()
        return member.uid, member.gid


def test_cp_archive_mode_gives_the_containers_user(hk, local):
    name = _start(hk, "-u", "1000:1001", "busybox", "sleep", "300", ready="/etc/group")
    os.chown(local / "src" / "f.txt", 4242, 4343)
    hk.ok("cp", str(local / "src" / "f.txt"), f"{name}:/tmp/plain.txt")
    hk.ok("cp", "-a", str(local / "src" / "f.txt"), f"{name}:/tmp/archived.txt")
    assert _owner_of(hk, name, "/tmp/plain.txt") == (4242, 4343)  # docker keeps the tar's owners
    assert _owner_of(hk, name, "/tmp/archived.txt") == (1000, 1001)
