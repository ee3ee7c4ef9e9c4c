"""The pieces of diff and cp that need no container: the change list of an
upper directory over lower ones (Docker's overlay rules), container paths,
Go's FileMode, and the docker CLI's path rules for cp."""

import os
import stat

import pytest

from hakobune.cli.filesystem import split_cp_arg, split_dir_entry
from hakobune.engine import container_fs


def _tree(base, entries):
    for path, content in entries.items():
        full = os.path.join(base, path)
        if content is None:
            os.makedirs(full, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)


@pytest.mark.root
def test_changes_follow_dockers_overlay_rules(tmp_path):
    lower, upper = str(tmp_path / "lower"), str(tmp_path / "upper")
    _tree(lower, {"bin/ls": "x", "bin/cat": "x", "etc/passwd": "root", "var/old": "x", "usr/sbin/a": "x"})
    _tree(upper, {"bin": None, "etc/passwd": "root2", "var/new": "y", "new/f": "z", "usr": None,
                  "etc/hostname": "", "etc/hosts": "", "etc/resolv.conf": ""})
    os.mknod(os.path.join(upper, "bin/ls"), stat.S_IFCHR, os.makedev(0, 0))
    os.mknod(os.path.join(upper, "usr/sbin"), stat.S_IFCHR, os.makedev(0, 0))
    os.setxattr(os.path.join(upper, "var"), "trusted.overlay.opaque", b"y")
    found = [(container_fs.KIND_LETTERS[kind], path) for path, kind in container_fs.changes(upper, [lower])]
    assert found == [("C", "/bin"), ("D", "/bin/ls"), ("C", "/etc"), ("C", "/etc/passwd"), ("A", "/new"),
                     ("A", "/new/f"), ("C", "/usr"), ("D", "/usr/sbin"), ("D", "/var"), ("A", "/var/new")]


def test_the_engines_files_alone_are_hidden_with_their_directory(tmp_path):
    lower, upper = str(tmp_path / "lower"), str(tmp_path / "upper")
    _tree(lower, {"etc/passwd": "root"})
    _tree(upper, {"etc/hostname": "", "etc/hosts": "", "etc/resolv.conf": ""})
    os.chmod(os.path.join(upper, "etc"), os.stat(os.path.join(lower, "etc")).st_mode)
    assert container_fs.hidden_entries(upper, [lower]) == {"etc", "etc/hostname", "etc/hosts", "etc/resolv.conf"}
    assert container_fs.changes(upper, [lower]) == []
    _tree(upper, {"etc/motd": "hi"})
    assert container_fs.hidden_entries(upper, [lower]) == {"etc/hostname", "etc/hosts", "etc/resolv.conf"}
    assert container_fs.changes(upper, [lower]) == [("/etc", 0), ("/etc/motd", 1)]


def test_go_file_modes():
    assert container_fs.go_file_mode(stat.S_IFDIR | 0o755) == 2147484141  # as docker's recorded stat
    assert container_fs.go_file_mode(stat.S_IFREG | 0o644) == 420
    assert container_fs.go_file_mode(stat.S_IFLNK | 0o777) == 134217728 | 0o777
    assert container_fs.go_file_mode(stat.S_IFREG | stat.S_ISUID | 0o755) == (1 << 23) | 0o755


@pytest.mark.parametrize("path, absolute", [("srv", "/srv"), ("/srv/", "/srv/"), ("/dir/.", "/dir/."),
                                            ("../../etc", "/etc"), ("/", "/"), (".", "/.")])
def test_container_paths_keep_a_trailing_slash_or_dot(path, absolute):
    assert container_fs.absolute(path) == absolute


@pytest.mark.parametrize("argument, split", [
    ("c:/etc", ("c", "/etc")), ("/abs:x", ("", "/abs:x")), ("./rel:x", ("", "./rel:x")),
    ("plain", ("", "plain")), ("c:", ("c", "")), ("-", ("", "-"))])
def test_cp_arguments(argument, split):
    assert split_cp_arg(argument) == split


@pytest.mark.parametrize("path, split", [("/a/b", ("/a", "b")), ("/a/b/", ("/a", "b")), ("/a/b/.", ("/a/b", ".")),
                                         ("b", (".", "b"))])
def test_split_dir_entry(path, split):
    assert split_dir_entry(path) == split
