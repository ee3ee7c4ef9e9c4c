"""The container's root: pivot_root, mounts, /dev, masked and read-only paths."""

import os

import pytest

pytestmark = pytest.mark.root


def output_of(runtime, bundle) -> str:
    result = runtime.run_bundle(bundle, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_root_is_pivoted_not_chrooted(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "cat /proc/self/mountinfo"])
    mountinfo = output_of(runtime, bundle)
    roots = [line.split()[4] for line in mountinfo.splitlines()]
    assert "/" in roots
    # nothing of the host's mount table is left in the container's namespace
    assert not any(line.split()[4].startswith("/work") for line in mountinfo.splitlines())


def test_default_mounts(runtime, make_bundle):
    mounts = {}
    for line in output_of(runtime, make_bundle(["cat", "/proc/mounts"])).splitlines():
        source, target, kind, options = line.split()[:4]
        mounts[target] = (kind, options.split(","))
    assert mounts["/proc"][0] == "proc"
    assert mounts["/dev"][0] == "tmpfs"
    assert mounts["/dev/pts"][0] == "devpts"
    assert mounts["/dev/shm"][0] == "tmpfs"
    assert mounts["/dev/mqueue"][0] == "mqueue"
    assert mounts["/sys"][0] == "sysfs" and "ro" in mounts["/sys"][1]
    assert "ro" in mounts["/proc/sys"][1]


def test_minimal_dev(runtime, make_bundle):
    listing = output_of(runtime, make_bundle(["ls", "/dev"])).split()
    for name in ("null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd",
                 "stdin", "stdout", "stderr"):
        assert name in listing
    devices = output_of(runtime, make_bundle(["sh", "-c", "head -c 4 /dev/zero | wc -c; echo x > /dev/null"]))
    assert devices.strip() == "4"


def test_masked_paths_are_unreadable_or_empty(runtime, make_bundle):
    script = "cat /proc/keys | wc -c; ls /sys/firmware | wc -l; touch /sys/firmware/x 2>&1 || echo denied"
    lines = output_of(runtime, make_bundle(["sh", "-c", script])).splitlines()
    assert lines[0].strip() == "0"
    assert lines[1].strip() == "0"
    assert lines[-1] == "denied"


def test_readonly_paths_cannot_be_written(runtime, make_bundle):
    script = "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo wrote || echo denied"
    assert output_of(runtime, make_bundle(["sh", "-c", script])).strip() == "denied"


def test_readonly_root(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "touch /newfile 2>/dev/null && echo wrote || echo denied; touch /tmp/x || true"])
    bundle.config["root"]["readonly"] = True
    assert output_of(runtime, bundle).split()[0] == "denied"
    assert not os.path.exists(os.path.join(bundle.rootfs, "newfile"))


def test_bind_mounts_with_options(runtime, make_bundle, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from the host\n")
    bundle = make_bundle(["sh", "-c", "cat /data/hello.txt; touch /data/new 2>/dev/null || echo ro"])
    bundle.config["mounts"].append({"destination": "/data", "type": "bind", "source": str(shared),
                                    "options": ["rbind", "ro", "nosuid", "nodev"]})
    assert output_of(runtime, bundle).splitlines() == ["from the host", "ro"]
    assert not (shared / "new").exists()


def test_symlinked_mount_target_stays_inside_rootfs(runtime, make_bundle, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    source = tmp_path / "src"
    source.mkdir()
    (source / "marker").write_text("x")
    bundle = make_bundle(["ls", "/escape"])
    os.symlink(str(outside), os.path.join(bundle.rootfs, "escape"))
    bundle.config["mounts"].append({"destination": "/escape", "type": "bind", "source": str(source),
                                    "options": ["bind"]})
    output_of(runtime, bundle)
    # the mount landed on <rootfs>/<outside path>, never on the host's directory
    assert os.listdir(outside) == []
    assert os.path.isdir(os.path.join(bundle.rootfs, str(outside).lstrip("/")))


def test_tmpfs_mount_and_sysctl(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "grep ' /scratch ' /proc/mounts; cat /proc/sys/net/ipv4/ip_forward"])
    bundle.config["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["size=1m", "mode=1777"]})
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    lines = output_of(runtime, bundle).splitlines()
    assert lines[0].split()[2] == "tmpfs"
    assert lines[1] == "1"


def test_cwd_through_a_proc_fd_link_is_refused(runtime, make_bundle):
    for fd in (3, 4, 5, 6, 7, 8):
        bundle = make_bundle(["true"])
        bundle.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
        result = runtime.run_bundle(bundle, check=False)
        assert result.returncode != 0
        assert "process.cwd" in result.stderr
    assert runtime("list", "-q").stdout.strip() == ""


def test_tmpfs_with_tmpcopyup_starts_with_the_image_directory(runtime, make_bundle):
    """podman's tmpfs mounts carry "tmpcopyup": files, symlinks and the directory's
    mode come from the image, read-only if asked; the image is never written."""
    script = ("head -1 /etc/passwd; readlink /usr/bin/env; stat -c %a /etc; touch /etc/new && echo writable; "
              "touch /usr/bin/new 2>/dev/null || echo ro; grep -c ' /etc ' /proc/mounts")
    bundle = make_bundle(["sh", "-c", script])
    bundle.config["mounts"] += [
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "tmpcopyup"]},
        {"destination": "/usr/bin", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "tmpcopyup"]},
    ]
    assert output_of(runtime, bundle).splitlines() == [
        "root:x:0:0:root:/root:/bin/sh", "/bin/busybox", "755", "writable", "ro", "1"]
    assert not os.path.exists(os.path.join(bundle.rootfs, "etc", "new"))


def test_without_a_mount_namespace_mounts_stay_under_the_rootfs_and_go_with_delete(runtime, make_bundle):
    # The spec: no mount namespace means the runtime's own; the container is
    # chrooted, its mounts live under a private bind of its rootfs.
    bundle = make_bundle(["sleep", "100"])
    namespaces = bundle.config["linux"]["namespaces"]
    namespaces[:] = [ns for ns in namespaces if ns["type"] != "mount"]
    bundle.save()
    runtime("run", "-d", "--bundle", bundle.path, "nomnt")
    with open("/proc/self/mountinfo") as f:
        assert bundle.rootfs in f.read()
    assert runtime("exec", "nomnt", "cat", "/etc/group").stdout.startswith("root:x:0:")
    runtime("delete", "--force", "nomnt")
    with open("/proc/self/mountinfo") as f:
        assert bundle.rootfs not in f.read()
