"""Volumes, bind mounts and tmpfs in real containers, through the real
`hakobune` binary (run/create's -v, --mount, --tmpfs, --volumes-from; rm -v
and --rm; inspect's Mounts; volume rm of a used volume; system df -v).
Every test removes its containers (the `hk` fixture) and its volumes, and
nothing stays mounted."""

import io
import json
import os
import shutil
import tarfile
import tempfile
import time

import pytest

from cli_store import hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


@pytest.fixture
def vk(hk):
    """`hk`, whose volumes (and host directories made under `vk.tmp`) are removed after the test."""
    hk.tmp = tempfile.mkdtemp(prefix="vol-", dir=hk.base)
    yield hk
    hk.cleanup()
    hk.run("volume", "prune", "-af")
    shutil.rmtree(hk.tmp, ignore_errors=True)
    assert hk.ok("volume", "ls", "-q") == ""


def _image(hk, name: str, extra, changes=('CMD ["sh"]',)) -> str:
    """Import busybox plus `extra` ((TarInfo, bytes or None) pairs) as `name`."""
    path = os.path.join(hk.tmp, name.replace(":", "_") + ".tar")
    with tarfile.open(hk.tar) as source, tarfile.open(path, "w") as out:
        for member in source.getmembers():
            out.addfile(member, source.extractfile(member) if member.isfile() else None)
        for info, data in extra:
            if data is not None:
                info.size = len(data)
            out.addfile(info, io.BytesIO(data) if data is not None else None)
    args = []
    for change in changes:
        args += ["-c", change]
    return hk.ok("import", *args, path, name).strip()


def _entry(name: str, kind=tarfile.DIRTYPE, mode=0o755, uid=0, gid=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, gid, linkname
    info.mtime = 1700000000
    return info


def _host_dir(hk, name: str, files=None) -> str:
    path = os.path.join(hk.tmp, name)
    os.makedirs(path)
    for file_name, text in (files or {}).items():
        with open(os.path.join(path, file_name), "w") as f:
            f.write(text)
    return path


def _volume_path(hk, name: str) -> str:
    return json.loads(hk.ok("volume", "inspect", name))[0]["Mountpoint"]


# --- named volumes -----------------------------------------------------------------------

def test_named_volume_keeps_data_across_containers(vk):
    vk.ok("run", "--name", "writer", "-v", "keep:/data", "busybox", "sh", "-c", "echo one > /data/f")
    vk.ok("rm", "writer")
    assert vk.ok("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f") == "one\n"
    with open(os.path.join(_volume_path(vk, "keep"), "f")) as f:  # on the host, not in any overlay
        assert f.read() == "one\n"
    # bind-mounted from the host's file system, never through the overlay
    fstype = vk.ok("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c",
                   "grep ' /data ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1")
    assert fstype.strip() not in ("", "overlay")
    proc = vk.run("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c", "cat /data/f; rm /data/f")
    assert proc.returncode == 1 and proc.stdout == "one\n" and "Read-only file system" in proc.stderr


def test_two_running_containers_share_a_volume(vk):
    vk.ok("run", "-d", "--name", "ponger", "-v", "shared:/data", "busybox", "sh", "-c",
          "while [ ! -f /data/ping ]; do sleep 0.05; done; echo pong > /data/pong; sleep 100")
    out = vk.ok("run", "--rm", "-v", "shared:/data", "busybox", "sh", "-c",
                "touch /data/ping; i=0; while [ ! -f /data/pong ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); "
                "done; cat /data/pong")
    assert out == "pong\n"


def test_empty_volume_is_filled_from_the_image_once_ownership_kept(vk):
    _image(vk, "owned:latest", [(_entry("data", mode=0o750, uid=1234, gid=5678), None),
                                (_entry("data/f", tarfile.REGTYPE, 0o640, 1000, 1001), b"from-image\n"),
                                (_entry("data/sub", uid=42, gid=43), None),
                                (_entry("data/sub/link", tarfile.SYMTYPE, 0o777, linkname="../f"), None)])
    out = vk.ok("run", "--rm", "-v", "filled:/data", "owned", "sh", "-c",
                "stat -c '%u:%g %a %n' /data /data/f /data/sub; cat /data/sub/link")
    assert out.splitlines() == ["1234:5678 750 /data", "1000:1001 640 /data/f", "42:43 755 /data/sub",
                                "from-image"]
    host = _volume_path(vk, "filled")
    assert os.stat(os.path.join(host, "f")).st_uid == 1000
    os.unlink(os.path.join(host, "f"))  # no longer empty: never copied again
    assert vk.ok("run", "--rm", "-v", "filled:/data", "owned", "ls", "/data") == "sub\n"
    # nocopy leaves a new volume empty
    assert vk.ok("run", "--rm", "-v", "bare:/data:nocopy", "owned", "ls", "/data") == ""


def test_volume_on_etc_is_filled_from_the_image(vk):
    out = vk.ok("run", "--rm", "-v", "etcvol:/etc", "busybox", "sh", "-c",
                "head -1 /etc/passwd; stat -c %u /etc/passwd")
    assert out.splitlines()[1] == "0" and out.splitlines()[0].startswith("root:")
    assert os.path.exists(os.path.join(_volume_path(vk, "etcvol"), "passwd"))


# --- bind mounts -----------------------------------------------------------------------------

def test_read_only_bind_sees_host_files_and_refuses_writes(vk):
    host = _host_dir(vk, "hostdir", {"hello.txt": "hello-from-host\n"})
    proc = vk.run("run", "--rm", "-v", f"{host}:/x:ro", "busybox", "sh", "-c", "cat /x/hello.txt; touch /x/new")
    assert proc.returncode == 1
    assert proc.stdout == "hello-from-host\n" and "Read-only file system" in proc.stderr
    assert os.listdir(host) == ["hello.txt"]
    out = vk.ok("run", "--rm", "-v", f"{host}:/x", "busybox", "sh", "-c", "echo back > /x/new")
    assert out == "" and open(os.path.join(host, "new")).read() == "back\n"


def test_v_creates_a_missing_host_directory(vk):
    missing = os.path.join(vk.tmp, "made", "here")
    assert vk.ok("run", "--rm", "-v", f"{missing}:/x", "busybox", "ls", "-a", "/x") == ".\n..\n"
    assert os.path.isdir(missing)


def test_mount_bind_with_a_missing_source_is_an_error_and_creates_nothing(vk):
    missing = os.path.join(vk.tmp, "missing")
    for command in ("run", "create"):
        proc = vk.run(command, "--name", "never", "-v", "notmade:/data", "--mount",
                      f"type=bind,src={missing},dst=/x", "busybox", "true")
        assert proc.returncode == 125, proc.stderr
        assert proc.stderr.startswith('hakobune: Error response from daemon: invalid mount config for type "bind": '
                                      f"bind source path does not exist: {missing}\n"), proc.stderr
    assert not os.path.exists(missing)
    assert vk.ok("ps", "-aq") == "" and vk.ok("volume", "ls", "-q") == ""


@pytest.mark.parametrize("args, message", [
    (["-v", "{file}:/etc"], 'to rootfs at "/etc": not a directory: Are you trying to mount a directory onto a file'),
    (["-v", "newvol:/etc/passwd"], 'to rootfs at "/etc/passwd": not a directory'),
    (["-v", "newvol:/x:bogus"], "invalid mode: bogus"),
    (["-v", "newvol:/x", "--tmpfs", "/x"], "Duplicate mount point: /x"),
    (["-v", "newvol:/x", "--mount", "type=volume,src=other,dst=/x"], "Duplicate mount point: /x"),
    (["--tmpfs", "/t:size=lots"], "invalid tmpfs option"),
    (["-v", "a::b"], "invalid spec: a::b: empty section between colons"),
    (["-v", "bad/name:/x"], '"bad/name" includes invalid characters for a local volume name'),
])
def test_bad_mounts_are_refused_and_nothing_is_created(vk, args, message):
    path = os.path.join(vk.tmp, "file")
    with open(path, "w") as f:
        f.write("x")
    proc = vk.run("create", "--name", "never", "-v", "also:/also", *[a.format(file=path) for a in args],
                  "busybox", "true")
    assert proc.returncode == 125 and message in proc.stderr, proc.stderr
    assert vk.ok("ps", "-aq") == "" and vk.ok("volume", "ls", "-q") == ""
    assert vk.mounts() == []


def test_bind_target_symlink_cannot_lead_outside_the_root(vk):
    outside = os.path.join(vk.tmp, "outside")
    _image(vk, "links:latest", [(_entry("evil", tarfile.SYMTYPE, 0o777, linkname=outside), None),
                                (_entry("evil2", tarfile.SYMTYPE, 0o777, linkname="../../../../.." + outside), None)])
    host = _host_dir(vk, "src", {"f": "x"})
    assert vk.ok("run", "--rm", "-v", f"{host}:/evil/sub", "links", "ls", f"{outside}/sub") == "f\n"
    assert vk.ok("run", "--rm", "-v", f"{host}:/evil2", "links", "ls", outside) == "f\n"
    assert not os.path.exists(outside) and os.listdir(host) == ["f"]


# --- tmpfs -------------------------------------------------------------------------------------

def test_tmpfs_has_its_size_and_is_empty_on_each_start(vk):
    out = vk.ok("run", "--rm", "--tmpfs", "/scratch:rw,size=1m", "busybox", "sh", "-c", "mount | grep scratch")
    assert out == "tmpfs on /scratch type tmpfs (rw,nosuid,nodev,noexec,relatime,size=1024k)\n"
    vk.ok("create", "--name", "tmp1", "--tmpfs", "/t:size=1m", "busybox", "sh", "-c",
          "ls /t; touch /t/x; dd if=/dev/zero of=/t/big bs=1024 count=2048 2>/dev/null || echo full")
    assert vk.ok("start", "-a", "tmp1") == "full\n"
    assert vk.ok("start", "-a", "tmp1") == "full\n"  # nothing kept from the first run


def test_mount_type_tmpfs(vk):
    out = vk.ok("run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=1770", "busybox",
                "sh", "-c", "mount | grep ' /t '; stat -c %a /t")
    assert out == "tmpfs on /t type tmpfs (rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1770)\n1770\n"


# --- --volumes-from, anonymous volumes ------------------------------------------------------------

def test_volumes_from(vk):
    host = _host_dir(vk, "h", {"hostfile": "h"})
    vk.ok("create", "--name", "source", "-v", "vf:/data", "-v", "/anon", "-v", f"{host}:/host",
          "-v", f"{host}:/host-ro:ro", "--tmpfs", "/t", "busybox", "true")
    vk.ok("run", "--rm", "-v", "vf:/data", "busybox", "sh", "-c", "echo shared > /data/f")
    out = vk.ok("run", "--rm", "--volumes-from", "source", "busybox", "sh", "-c",
                "cat /data/f /host/hostfile; echo; echo a > /anon/a; mount | grep -c ' /t ' || true")
    assert out == "shared\nh\n0\n"
    proc = vk.run("run", "--rm", "--volumes-from", "source:ro", "busybox", "sh", "-c", "ls /anon; touch /data/g")
    assert proc.returncode == 1 and proc.stdout == "a\n" and "Read-only file system" in proc.stderr
    # "rw" never makes a read-only mount writable; inspect shows the copies without a mode
    proc = vk.run("run", "--rm", "--volumes-from", "source:rw", "busybox", "touch", "/host-ro/x")
    assert proc.returncode == 1 and "Read-only file system" in proc.stderr
    vk.ok("create", "--name", "heir", "--volumes-from", "source:ro", "busybox", "true")
    mounts = {m["Destination"]: m for m in json.loads(vk.ok("inspect", "-f", "{{json .Mounts}}", "heir"))}
    assert sorted(mounts) == ["/anon", "/data", "/host", "/host-ro"]
    assert mounts["/data"] == {"Type": "volume", "Name": "vf", "Source": _volume_path(vk, "vf"),
                               "Destination": "/data", "Driver": "local", "Mode": "", "RW": False,
                               "Propagation": ""}
    assert mounts["/host"] == {"Type": "bind", "Source": host, "Destination": "/host", "Mode": "", "RW": False,
                               "Propagation": "rprivate"}
    # the inherited anonymous volume is the source's: rm -v of the heir keeps it
    vk.ok("rm", "-v", "heir")
    assert mounts["/anon"]["Name"] in vk.ok("volume", "ls", "-q").split()
    proc = vk.run("run", "--rm", "--volumes-from", "nosuch", "busybox", "true")
    assert proc.returncode == 125 and "No such container: nosuch" in proc.stderr


def test_image_volume_makes_an_anonymous_volume_removed_by_rm_v(vk):
    vk.ok("import", "-c", 'CMD ["sh"]', "-c", "VOLUME /vol", vk.tar, "withvol:latest")
    vk.ok("create", "--name", "anon1", "withvol", "true")
    mounts = json.loads(vk.ok("inspect", "-f", "{{json .Mounts}}", "anon1"))
    assert len(mounts) == 1 and mounts[0]["Destination"] == "/vol" and mounts[0]["Type"] == "volume"
    name = mounts[0]["Name"]
    assert len(name) == 64 and vk.ok("volume", "ls", "-q") == name + "\n"
    assert json.loads(vk.ok("volume", "inspect", name))[0]["Labels"] == {"com.docker.volume.anonymous": ""}
    vk.ok("rm", "-v", "anon1")
    assert vk.ok("volume", "ls", "-q") == ""
    # without -v the anonymous volume stays (as Docker)
    vk.ok("create", "--name", "anon2", "-v", "/other", "busybox", "true")
    vk.ok("rm", "anon2")
    assert len(vk.ok("volume", "ls", "-q").split()) == 1
    vk.ok("volume", "prune", "-f")
    # --rm containers lose theirs, foreground and detached; named volumes stay
    vk.ok("run", "--rm", "-v", "kept:/k", "withvol", "sh", "-c", "echo x > /vol/x")
    vk.ok("run", "-d", "--rm", "withvol", "true")
    deadline = time.monotonic() + 20
    while vk.ok("ps", "-aq") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert vk.ok("volume", "ls", "-q") == "kept\n"


def test_volume_rm_of_a_used_volume_is_refused(vk):
    container_id = vk.ok("create", "-v", "busy:/data", "busybox", "true").strip()
    proc = vk.run("volume", "rm", "busy")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == f"Error response from daemon: remove busy: volume is in use - [{container_id}]\n"
    vk.ok("rm", container_id)
    assert vk.ok("volume", "rm", "busy") == "busy\n"


# --- inspect, df, commit, cleanup ----------------------------------------------------------------

def test_inspect_mounts_in_dockers_shape(vk):
    host = _host_dir(vk, "hostdir")
    vk.ok("create", "--name", "mnt1", "-v", "named:/data", "-v", f"{host}:/x:ro", "-v", "/anon",
          "--mount", f"type=bind,src={host},dst=/y", "--mount", "type=tmpfs,dst=/t", "busybox", "true")
    info = json.loads(vk.ok("inspect", "mnt1"))[0]
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    named_path = _volume_path(vk, "named")
    assert mounts["/data"] == {"Type": "volume", "Name": "named", "Source": named_path, "Destination": "/data",
                               "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
    assert mounts["/x"] == {"Type": "bind", "Source": host, "Destination": "/x", "Mode": "ro", "RW": False,
                            "Propagation": "rprivate"}
    assert mounts["/y"] == {"Type": "bind", "Source": host, "Destination": "/y", "Mode": "", "RW": True,
                            "Propagation": "rprivate"}
    assert mounts["/t"] == {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True,
                            "Propagation": ""}
    anon = mounts["/anon"]
    assert anon["Type"] == "volume" and anon["Mode"] == "" and anon["Source"] == _volume_path(vk, anon["Name"])
    assert info["HostConfig"]["Binds"] == ["named:/data", f"{host}:/x:ro"]
    assert info["HostConfig"]["Mounts"] == [{"Type": "bind", "Source": host, "Target": "/y"},
                                            {"Type": "tmpfs", "Target": "/t"}]
    assert info["Config"]["Volumes"] == {"/anon": {}}


def test_system_df_lists_volumes(vk):
    vk.ok("run", "--rm", "-v", "sized:/data", "busybox", "sh", "-c", "printf 12345 > /data/f")
    vk.ok("create", "-v", "sized:/data", "busybox", "true")
    rows = vk.ok("system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}").splitlines()
    assert "Local Volumes|1|1|5B" in rows
    verbose = vk.ok("system", "df", "-v")
    section = verbose.split("Local Volumes space usage:\n\n")[1].split("\n\n")[0]
    assert section.splitlines()[0].split() == ["VOLUME", "NAME", "LINKS", "SIZE"]
    assert section.splitlines()[1].split() == ["sized", "1", "5B"]


def test_commit_never_includes_volume_content(vk):
    vk.ok("run", "--name", "com1", "-v", "content:/data", "busybox", "sh", "-c",
          "echo secret > /data/in-volume; echo layer > /in-layer")
    vk.ok("commit", "com1", "committed:latest")
    out = vk.ok("run", "--rm", "committed", "sh", "-c", "cat /in-layer; ls -a /data")
    assert out == "layer\n.\n..\n"
    vk.ok("rmi", "-f", "committed:latest")


def test_nothing_stays_mounted_after_rm_f(vk):
    vk.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "dev")
    host = _host_dir(vk, "b")
    container_id = vk.ok("run", "-d", "-v", "dev:/dev-vol", "-v", "plain:/plain", "-v", f"{host}:/b",
                         "--tmpfs", "/t", "busybox", "sleep", "100").strip()
    data = _volume_path(vk, "dev")
    assert data in vk.mounts()
    assert vk.ok("exec", container_id, "sh", "-c", "df -k /dev-vol | tail -1").split()[1] == "1024"
    vk.ok("rm", "-f", container_id)
    assert vk.mounts() == []


@pytest.mark.local_only("API 1.41 (what hakobune serve advertises): volume prune takes named volumes too")
def test_system_prune_volumes_takes_anonymous_volumes_only(vk):
    vk.ok("volume", "create", "--label", "a=1", "named-kept")
    vk.ok("create", "--name", "gone", "-v", "/anon", "busybox", "true")
    vk.ok("rm", "gone")
    vk.ok("system", "prune", "-f", "--volumes", "--filter", "label=a=1")
    assert len(vk.ok("volume", "ls", "-q").split()) == 2  # the label matches no anonymous volume
    vk.ok("system", "prune", "-f", "--volumes")
    assert vk.ok("volume", "ls", "-q") == "named-kept\n"
