"""The builder's pure parts: Go's formatting of history texts, EXPOSE, ENV,
RUN --mount parsing, which stages a target needs, COPY's sources and
destinations, the content digest the cache compares, archive detection,
and the cache index."""

import gzip
import io
import os
import tarfile

import pytest

from hakobune.build.builder import (expose_ports, go_duration, go_quote_list, needed_stages, parse_mount, parse_size,
                                    set_env, _with_heredocs)
from hakobune.build.cache import BuildCache
from hakobune.build.context import (SourceTree, content_digest, destination_path, is_archive, plan_copy)
from hakobune.build.errors import BuildError
from hakobune.build.ignore import PatternMatcher
from hakobune.build.parser import Heredoc, parse_dockerfile
from hakobune.build.stages import split_stages


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (5_000_000_000, "5s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (1_500_000_000, "1.5s"), (1_000_000, "1ms"), (2_500, "2.5µs"), (7, "7ns"), (3_723_000_000_000, "1h2m3s"),
])
def test_go_duration(ns, text):
    assert go_duration(ns) == text


def test_go_quote_list_is_gos_percent_q_of_a_slice():
    assert go_quote_list(["/bin/sh", "-c", 'echo "hi"']) == '["/bin/sh" "-c" "echo \\"hi\\""]'
    assert go_quote_list([]) == "[]"


def test_expose_ports_normalised_and_sorted():
    assert expose_ports(["8080", "53/UDP", "7000-7002/tcp"]) == \
        ["53/udp", "7000/tcp", "7001/tcp", "7002/tcp", "8080/tcp"]
    with pytest.raises(BuildError):
        expose_ports(["http"])


def test_set_env_replaces_in_place():
    assert set_env(["A=1", "B=2"], "A", "3") == ["A=3", "B=2"]
    assert set_env(["A=1"], "C", "x=y") == ["A=1", "C=x=y"]


def test_parse_mount():
    assert parse_mount("type=cache,target=/root/.cache,id=pip") == \
        {"type": "cache", "target": "/root/.cache", "id": "pip"}
    assert parse_mount("source=src,dst=/mnt,rw") == {"type": "bind", "source": "src", "target": "/mnt",
                                                     "readonly": False}
    assert parse_mount("type=bind,target=/m,readonly=true")["readonly"] is True
    with pytest.raises(BuildError):
        parse_mount("type=secret,target=/s")
    with pytest.raises(BuildError):
        parse_mount("type=cache")
    assert parse_size("10m") == 10 << 20 and parse_size("4096") == 4096


def test_heredoc_run_scripts():
    assert _with_heredocs("<<EOF", [Heredoc("EOF", "echo a\necho b\n")]) == "echo a\necho b\n"
    assert _with_heredocs("cat <<EOF > /x", [Heredoc("EOF", "body\n")]) == "cat <<EOF > /x\nbody\nEOF"
    assert _with_heredocs("echo plain", []) == "echo plain"


def _stages(text: str):
    _, stages = split_stages(parse_dockerfile(text))
    return stages, {stage.name: stage.index for stage in stages if stage.name}


def test_needed_stages_follow_from_copy_from_and_mounts():
    stages, names = _stages("""\
FROM busybox AS base
FROM busybox AS unused
RUN false
FROM busybox AS mounted
FROM base AS tool
RUN --mount=type=bind,from=mounted,target=/x true
FROM busybox
COPY --from=tool /a /b
COPY --from=0 /c /d
""")
    assert needed_stages(stages, len(stages) - 1, names) == [0, 2, 3, 4]
    assert needed_stages(stages, 1, names) == [1]
    stages, names = _stages("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\n")
    with pytest.raises(BuildError, match="refers to a later stage"):
        needed_stages(stages, 0, names)


def test_needed_stages_refuses_a_stage_copying_from_itself():
    stages, names = _stages("FROM busybox AS a\nCOPY --from=a /x /y\n")
    with pytest.raises(BuildError, match="circular dependency"):
        needed_stages(stages, 0, names)


def test_destination_rules():
    assert destination_path("/app/", "/") == ("/app", True)
    assert destination_path("file", "/work") == ("/work/file", False)
    assert destination_path(".", "/work") == ("/work", True)
    assert destination_path("/", "/w") == ("/", True)


def _tree(tmp_path, files: dict, patterns=()):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return SourceTree(str(tmp_path), PatternMatcher(patterns))


def test_sources_globs_exclusions_and_the_context_boundary(tmp_path):
    tree = _tree(tmp_path, {"a.txt": "a", "b.txt": "b", "c.md": "c", "sub/d.txt": "d", "skip.txt": "s"},
                 patterns=["skip.txt"])
    assert tree.expand("*.txt") == ["a.txt", "b.txt"]
    assert tree.expand("sub/*.txt") == ["sub/d.txt"]
    assert tree.expand("/c.md") == ["c.md"]
    with pytest.raises(BuildError, match="excluded by .dockerignore"):
        tree.expand("skip.txt")
    with pytest.raises(BuildError, match="no source files were specified"):
        tree.expand("*.none")
    with pytest.raises(BuildError, match="forbidden path outside the build context"):
        tree.expand("../etc/passwd")
    os.symlink("/etc", tmp_path / "escape")
    assert tree.host_path("escape/passwd") is None  # resolved inside the context: /etc is not there


def test_plan_copy_follows_dockers_destination_rules(tmp_path):
    tree = _tree(tmp_path, {"f": "x", "dir/a": "a", "dir/sub/b": "b"})
    never = lambda path: False  # noqa: E731
    assert [e.destination for e in plan_copy(tree, ["f"], "/x", False, never)] == ["/x"]
    assert [e.destination for e in plan_copy(tree, ["f"], "/x", True, never)] == ["/x/f"]
    assert [e.destination for e in plan_copy(tree, ["f"], "/x", False, lambda p: p == "/x")] == ["/x/f"]
    assert [e.destination for e in plan_copy(tree, ["dir"], "/d", True, never)] == \
        ["/d/a", "/d/sub", "/d/sub/b"]
    with pytest.raises(BuildError, match="must be a directory and end with a /"):
        plan_copy(tree, ["f", "dir"], "/x", False, never)


def test_content_digest_ignores_times_not_content_or_mode(tmp_path):
    tree = _tree(tmp_path, {"f": "x"})
    never = lambda path: False  # noqa: E731

    def digest():
        return content_digest(plan_copy(tree, ["f"], "/f", False, never), keep_owner=False)

    first = digest()
    os.utime(tmp_path / "f", (1, 1))
    assert digest() == first
    os.chmod(tmp_path / "f", 0o600)
    assert digest() != first
    os.chmod(tmp_path / "f", 0o644)
    (tmp_path / "f").write_text("y")
    assert digest() != first


def test_is_archive(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("x")
        tar.addfile(info, io.BytesIO(b""))
    (tmp_path / "plain.tar").write_bytes(buffer.getvalue())
    (tmp_path / "packed.tgz").write_bytes(gzip.compress(buffer.getvalue()))
    (tmp_path / "text.gz").write_bytes(gzip.compress(b"just some text" * 100))
    (tmp_path / "text").write_text("hello")
    assert is_archive(str(tmp_path / "plain.tar")) and is_archive(str(tmp_path / "packed.tgz"))
    assert not is_archive(str(tmp_path / "text.gz")) and not is_archive(str(tmp_path / "text"))


def test_cache_forgets_entries_whose_image_is_gone(tmp_path):
    from hakobune.image.store import ImageStore

    store = ImageStore(str(tmp_path / "root"))
    cache = BuildCache(str(tmp_path / "cache"), store)
    key = cache.key("sha256:" + "1" * 64, "RUN x")
    assert key != cache.key("sha256:" + "2" * 64, "RUN x") != cache.key("sha256:" + "1" * 64, "RUN y")
    cache.record(key, "sha256:" + "f" * 64)
    assert os.path.exists(tmp_path / "cache" / key)
    assert cache.lookup(key) is None  # no such image in the store
    assert not os.path.exists(tmp_path / "cache" / key)


# --- the tty display -------------------------------------------------------------------

def test_tty_display_frames_follow_the_classic_stream():
    import io

    from hakobune.build.progress import TTYDisplay

    now = [100.0]
    out = io.StringIO()
    display = TTYDisplay(out, width=60, clock=lambda: now[0])
    display.closed = True  # no ticker frames: only the fed ones
    display.feed("Step 1/3 : FROM busybox\n ---> abc\nStep 2/3 : RUN make\n ---> Running in 1234\n")
    now[0] += 2.5
    display.feed("compiling\nlinking\n")
    frame = out.getvalue()[out.getvalue().rindex("[+] Building"):]
    assert " => => # compiling" in frame and " => => # linking" in frame
    assert "[2/3] RUN make" in frame and "2.5s" in frame
    display.feed(" ---> def\nStep 3/3 : COPY a /a\n ---> Using cache\n ---> 999\nSuccessfully built 999\n"
                 "Successfully tagged x:1\n")
    display.closed = False
    display.close()
    final = out.getvalue()
    tail = final[final.rindex("[+] Building"):]
    lines = tail.replace("\x1b[K", "").replace("\r", "").splitlines()
    assert lines[0] == "[+] Building 2.5s (3/3) FINISHED"
    assert lines[1].startswith(" => [1/3] FROM busybox") and lines[1].endswith("0.0s") and len(lines[1]) == 59
    assert lines[2].startswith(" => [2/3] RUN make") and lines[2].endswith("2.5s")
    assert lines[3].startswith(" => CACHED [3/3] COPY a /a")
    assert lines[4:] == [" => exporting to image", " => => writing image 999", " => => naming to x:1"]
    assert "# compiling" not in tail  # a finished step's output is not in the summary


def test_tty_display_keeps_a_steps_output_on_one_line_each():
    import io

    from hakobune.build.progress import TTYDisplay

    out = io.StringIO()
    display = TTYDisplay(out, width=80, clock=lambda: 0.0)
    display.closed = True
    display.feed("Step 1/1 : RUN wget x\n 10%\r 50%\r100% done\r\n\x1b[31mred\x1b[0m\n")
    frame = out.getvalue()[out.getvalue().rindex("[+] Building"):]
    assert " => => # 100% done\x1b[K" in frame and " => => # ^[[31mred^[[0m\x1b[K" in frame
