"""Pure pieces of the runtime: path resolution, mount options, the CLI parser,
container ids and the parent/child channel."""

import os

import pytest

from hakobune import _sys as S
from hakobune.errors import InvalidArgument, NotFound
from hakobune.runtime import cli, state
from hakobune.runtime.channel import Channel
from hakobune.runtime.mounts import parse_options
from hakobune.runtime.paths import resolve_in_root


@pytest.fixture
def root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("/usr/lib", tmp_path / "lib")
    os.symlink("../../../../../../etc", tmp_path / "usr" / "up")
    os.symlink("/", tmp_path / "usr" / "slash")
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    return str(tmp_path)


@pytest.mark.parametrize("path, expected", [
    ("/etc", "/etc"),
    ("/lib/x", "/usr/lib/x"),
    ("/usr/up/passwd", "/etc/passwd"),
    ("/../../..", ""),
    ("/usr/slash/etc", "/etc"),
    ("/new/dir", "/new/dir"),
])
def test_resolve_in_root_never_leaves_the_root(root, path, expected):
    assert resolve_in_root(root, path) == root + expected


def test_resolve_in_root_stops_symlink_loops(root):
    with pytest.raises(OSError):
        resolve_in_root(root, "/loop1/x")


def test_mount_options():
    options = parse_options(["rbind", "ro", "nosuid", "rprivate", "size=1m", "mode=755", "exec"])
    assert options.flags == S.MS_BIND | S.MS_REC | S.MS_RDONLY | S.MS_NOSUID
    assert options.propagation == [S.MS_PRIVATE | S.MS_REC]
    assert options.data == "size=1m,mode=755"
    assert parse_options(["ro", "rw"]).flags == 0


def test_cli_parses_runc_style_arguments():
    glob, command, args = cli.parse(["--root", "/r", "--log-format=json", "exec", "-t", "--env", "A=1",
                                     "-e", "B=2", "--cwd=/tmp", "c1", "sh", "-c", "ls -l"])
    assert glob == {"root": "/r", "log_format": "json"}
    assert command == "exec"
    assert args.values == {"tty": True, "env": ["A=1", "B=2"], "cwd": "/tmp"}
    assert args.positional == ["c1", "sh", "-c", "ls -l"]


def test_cli_rejects_unknown_options_and_commands():
    with pytest.raises(InvalidArgument, match="unknown option --bogus"):
        cli.parse(["create", "--bogus", "c1"])
    with pytest.raises(InvalidArgument, match="unknown command"):
        cli.parse(["explode"])
    with pytest.raises(InvalidArgument, match="needs a value"):
        cli.parse(["create", "--bundle"])


def test_cli_accepts_ignored_global_flags_that_callers_pass():
    glob, command, _ = cli.parse(["--systemd-cgroup", "--debug", "state", "x"])
    assert command == "state" and glob == {}


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 1025, "a b"])
def test_container_ids_are_checked(bad):
    with pytest.raises(InvalidArgument):
        state.check_id(bad)


def test_state_of_a_missing_container(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        state.load(str(tmp_path), "ghost")


def test_channel_carries_error_kinds_across_processes():
    parent, child = Channel.pair()
    pid = os.fork()
    if pid == 0:
        parent.close()
        child.send("hello 1")
        child.send_error(NotFound("no such thing"))
        os._exit(0)
    child.close()
    try:
        assert parent.expect("hello") == "1"
        with pytest.raises(NotFound, match="no such thing"):
            parent.receive()
    finally:
        os.waitpid(pid, 0)
        parent.close()


def test_readme_commands_are_what_ci_runs():
    here = os.path.dirname(__file__)
    readme = open(os.path.join(here, "..", "..", "README.md")).read()
    ci = open(os.path.join(here, "..", "..", ".ci", "run")).read()
    commands = [line.strip() for line in readme.splitlines() if line.startswith("    ")][:2]
    assert len(commands) == 2
    for command in commands:
        assert command in ci.splitlines()
