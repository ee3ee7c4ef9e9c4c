"""The build conformance comparison: every case under tests/build_conformance
(a Dockerfile and its small context) built by hakobune, its image's config,
history and file tree (`conformance.summarize`) compared with:

- the references' recorded results (each case's expected.json: Docker
  20.10's classic builder, ``docker``, and its BuildKit, ``buildkit``), always;
- the reference engines themselves, when they are here: a Docker daemon at
  $HAKOBUNE_REFERENCE_DOCKER_HOST (e.g. ``unix:///run/hkref/docker.sock``;
  classic builder and BuildKit; CI has none, so that part skips) and podman
  (``podman build --layers --format docker``).  With a live daemon the
  recordings are also checked to be current (re-record them with
  ``python tests/build_conformance/conformance.py``).

The classic builder is the reference for everything (config, history as it
writes it, files); BuildKit and podman for the config and the files.  What
differs for a documented reason is in `KNOWN_DIFFERENCES`, with the reason,
and left out of the comparison only where it says; `UNSUPPORTED` lists the
cases a reference cannot build at all.
"""

import fnmatch
import os
import shutil
import subprocess
import sys

import pytest

from cli_store import HAKOBUNE, hk, store  # noqa: F401 - fixtures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build_conformance"))
import conformance  # noqa: E402

pytestmark = pytest.mark.root

REFERENCE_DOCKER_HOST = os.environ.get("HAKOBUNE_REFERENCE_DOCKER_HOST", "")

# (reference, case or "*", part, key, why): `key` is a config key, a path
# pattern (files), or a text the history entry contains ("*": the whole part).
KNOWN_DIFFERENCES = [
    ("docker", "*", "history", "HEALTHCHECK &{",
     "Docker 20.10 prints the health check without StartInterval (added in Docker 25, API 1.44); "
     "hakobune writes the current form: &{[test] interval timeout start-period start-interval retries}"),
    ("buildkit", "*", "history", "*",
     "BuildKit writes its own history texts (RUN /bin/sh -c ... # buildkit, COPY src dst # buildkit, "
     "no trigger entries); the classic builder's are the reference for history"),
    ("buildkit", "*", "files", "/etc",
     "BuildKit's RUN layers record /etc, where it mounts hosts and resolv.conf; the classic builder's "
     "(and hakobune's) leave it out when nothing else in it changed"),
    ("buildkit", "workdir_user", "files", "/home*",
     "BuildKit creates a missing WORKDIR owned by the current USER; the classic builder (and hakobune) "
     "as root"),
    ("buildkit", "workdir_user", "files", "/tmp/id",
     "`id` prints no supplementary groups under BuildKit's runc spec for a USER without any"),
    ("buildkit", "scratch_rootfs", "config", "WorkingDir",
     "BuildKit records WorkingDir \"/\" for a stage FROM scratch; the classic builder leaves it empty"),
    ("podman", "*", "history", "*",
     "buildah writes its own history texts and empty_layer flags (one layer for consecutive metadata "
     "steps); the classic builder's are the reference"),
    ("podman", "*", "files", "/etc",
     "buildah's RUN layers keep /etc"),
    ("podman", "*", "files", "/etc/host*",
     "buildah's RUN layers keep the empty /etc/hosts and /etc/hostname it bind-mounts over"),
    ("podman", "*", "files", "/etc/resolv.conf",
     "buildah's RUN layers keep the empty /etc/resolv.conf it bind-mounts over"),
    ("podman", "*", "files", "/run",
     "buildah's RUN layers keep the /run directory it mounts on"),
    ("podman", "shell_forms", "config", "Cmd",
     "buildah runs a shell-form CMD with /bin/sh -c whatever SHELL says; Docker (both builders) with SHELL"),
    ("podman", "metadata", "config", "ExposedPorts",
     "buildah keeps a port range as one key (8000-8002/tcp); Docker expands it into one key per port"),
    ("podman", "workdir_user", "files", "/home*",
     "buildah creates a missing WORKDIR owned by the current USER, as BuildKit"),
    ("podman", "workdir_user", "files", "/a/b/c/d",
     "buildah creates a WORKDIR only when a later step needs it (/a/b/c/d is left for ../e)"),
]

UNSUPPORTED = {
    ("docker", "chmod"): "the classic builder refuses --chmod and --chown=:group (they need BuildKit)",
    ("docker", "heredocs"): "Docker 20.10's classic builder has no heredocs",
    ("buildkit", "heredocs"): "BuildKit's built-in frontend in Docker 20.10 has no heredocs (the "
                              "dockerfile:1.4 frontend would be pulled from a registry)",
    ("podman", "heredocs"): "buildah 1.28 has no heredocs",
}


def known(reference: str, case: str, part: str) -> dict:
    return {key: why for ref, name, which, key, why in KNOWN_DIFFERENCES
            if ref == reference and name in ("*", case) and which == part}


def differences(ours: dict, theirs: dict, reference: str, case: str) -> list[str]:
    """What differs between two summaries, the known differences left out."""
    found = []
    ignored = known(reference, case, "config")
    for key in conformance.CONFIG_KEYS + ("author",):
        if key not in ignored and ours["config"].get(key) != theirs["config"].get(key):
            found.append(f"config {key}: hakobune {ours['config'].get(key)!r}, {reference} "
                         f"{theirs['config'].get(key)!r}")
    ignored = known(reference, case, "history")
    if "*" not in ignored:
        if len(ours["history"]) != len(theirs["history"]):
            found.append(f"history: hakobune {ours['history']!r}, {reference} {theirs['history']!r}")
        else:
            for index, (mine, other) in enumerate(zip(ours["history"], theirs["history"])):
                same_text = mine[0] == other[0] or any(key in mine[0] for key in ignored)
                if not same_text or mine[1] != other[1]:
                    found.append(f"history {index}: hakobune {mine!r}, {reference} {other!r}")
    patterns = known(reference, case, "files")
    for path in sorted(set(ours["files"]) | set(theirs["files"])):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            continue
        if ours["files"].get(path) != theirs["files"].get(path):
            found.append(f"file {path}: hakobune {ours['files'].get(path)}, {reference} "
                         f"{theirs['files'].get(path)}")
    return found


def hakobune_summary(hk, case: str, tmp_path) -> dict:
    context = conformance.prepare_context(case, str(tmp_path / "context"))
    engine = conformance.Hakobune(HAKOBUNE, hk.root, hk.runroot)
    tag = f"conformance-{case.replace('_', '-')}:1"
    proc = engine.build(context, tag)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return engine.summary(tag, str(tmp_path), conformance.base_of(engine, context))


def docker_references() -> list:
    engines = []
    if REFERENCE_DOCKER_HOST:
        for engine in (conformance.Docker(REFERENCE_DOCKER_HOST),
                       conformance.Docker(REFERENCE_DOCKER_HOST, buildkit=True)):
            if engine.available():
                engines.append(engine)
    return engines


LIVE_DOCKER = docker_references()


@pytest.fixture(scope="module")
def live(store):
    """The live references: the reference daemon's builders, and podman when
    installed (given the fixture's busybox rootfs as busybox:latest when it
    has none, removed again at the end)."""
    engines = list(LIVE_DOCKER)
    podman = conformance.Podman()
    imported = False
    if shutil.which("podman") and not podman.available():
        imported = podman.run("import", "--change", 'CMD ["sh"]', store.tar, "busybox:latest").returncode == 0
    if podman.available():
        engines.append(podman)
    yield engines
    if imported:
        podman.run("rmi", "busybox:latest")


@pytest.mark.parametrize("case", [c for c in conformance.case_names() if c != "heredocs"])
def test_build_matches_the_recorded_references(hk, case, tmp_path):
    ours = hakobune_summary(hk, case, tmp_path)
    recorded = conformance.load_expected(case)
    assert recorded, f"{case} has no recorded reference: record it (conformance.py)"
    for reference, theirs in recorded.items():
        assert differences(ours, theirs, reference, case) == [], reference


@pytest.mark.parametrize("case", conformance.case_names())
def test_build_matches_the_live_references(hk, live, case, tmp_path):
    if not live:
        pytest.skip("no reference engine here (set HAKOBUNE_REFERENCE_DOCKER_HOST, or install podman)")
    ours = hakobune_summary(hk, case, tmp_path)
    recorded = conformance.load_expected(case)
    compared = 0
    for engine in live:
        if (engine.name, case) in UNSUPPORTED:
            continue
        context = conformance.prepare_context(case, str(tmp_path / f"context-{engine.name}"))
        tag = f"hk-conformance-{case.replace('_', '-')}:1"
        proc = engine.build(context, tag)
        try:
            assert proc.returncode == 0, f"{engine.name}: {proc.stdout}{proc.stderr}"
            theirs = engine.summary(tag, str(tmp_path), conformance.base_of(engine, context))
        finally:
            engine.remove(tag)
        assert differences(ours, theirs, engine.name, case) == [], engine.name
        if engine.name in ("docker", "buildkit"):
            assert recorded.get(engine.name) == theirs, f"{case}'s recorded {engine.name} result is stale"
        compared += 1
    if not compared:
        pytest.skip(f"no reference here builds {case}")


def test_unsupported_cases_are_refused_by_that_reference(live, tmp_path):
    """The UNSUPPORTED table is true: a live reference does fail those cases."""
    checked = 0
    for engine in live:
        for (reference, case), _ in UNSUPPORTED.items():
            if reference != engine.name:
                continue
            context = conformance.prepare_context(case, str(tmp_path / f"{case}-{engine.name}"))
            proc = engine.build(context, "hk-conformance-unsupported:1")
            engine.remove("hk-conformance-unsupported:1")
            assert proc.returncode != 0, f"{engine.name} builds {case} now: move it out of UNSUPPORTED"
            checked += 1
    if not checked:
        pytest.skip("no reference engine here")


def test_heredocs_give_what_buildkits_reference_documents(hk, tmp_path):
    """No reference here builds heredocs: the files are checked against the
    Dockerfile reference's description (a RUN heredoc is the script; a COPY
    heredoc's body is the file; a heredoc inside a shell command is the shell's)."""
    import hashlib

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    ours = hakobune_summary(hk, "heredocs", tmp_path)
    assert ours["files"]["/heredoc"]["sha256"] == digest("from heredoc\nsecond line\n")
    assert ours["files"]["/copied-heredoc"]["sha256"] == digest("copied text\n")
    assert ours["files"]["/cat-heredoc"]["sha256"] == digest("cat body\n")
    assert [entry[1] for entry in ours["history"]] == [False, False, False]


def test_summaries_see_modes_owners_links_and_removals(tmp_path):
    """The summary itself: layers applied in order, whiteouts and opaque
    directories honoured, no times."""
    import io
    import json
    import tarfile

    def layer(entries) -> bytes:
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            for name, kind, extra in entries:
                member = tarfile.TarInfo(name)
                member.type, member.mode, member.mtime = kind, extra.get("mode", 0o644), 12345
                member.uid = extra.get("uid", 0)
                member.linkname = extra.get("link", "")
                content = extra.get("data", b"")
                member.size = len(content) if kind == tarfile.REGTYPE else 0
                tar.addfile(member, io.BytesIO(content) if kind == tarfile.REGTYPE else None)
        return data.getvalue()

    layers = [layer([("a", tarfile.DIRTYPE, {"mode": 0o750}), ("a/f", tarfile.REGTYPE, {"data": b"x"}),
                     ("gone", tarfile.REGTYPE, {}), ("o", tarfile.DIRTYPE, {}), ("o/old", tarfile.REGTYPE, {})]),
              layer([("a/l", tarfile.SYMTYPE, {"link": "f"}), (".wh.gone", tarfile.REGTYPE, {}),
                     ("o", tarfile.DIRTYPE, {}), ("o/.wh..wh..opq", tarfile.REGTYPE, {}),
                     ("o/new", tarfile.REGTYPE, {"uid": 7})])]
    config = {"config": {"Cmd": ["sh"]}, "history": [{"created_by": "/bin/sh -c #(nop) COPY file:" + "a" * 64
                                                      + " in / "}], "rootfs": {"diff_ids": ["x", "y"]}}
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in [("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["1.tar", "2.tar"]}])),
                           ("c.json", json.dumps(config)), ("1.tar", layers[0]), ("2.tar", layers[1])]:
            data = data.encode() if isinstance(data, str) else data
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    summary = conformance.summarize(str(archive), 0, [])
    assert summary["history"] == [["/bin/sh -c #(nop) COPY file:<hash> in / ", False]]
    assert summary["config"]["Cmd"] == ["sh"] and summary["config"]["Env"] is None
    assert sorted(summary["files"]) == ["/a", "/a/f", "/a/l", "/o", "/o/new"]
    assert summary["files"]["/a"] == {"mode": "0750", "owner": "0:0", "type": "dir"}
    assert summary["files"]["/a/l"]["target"] == "f"
    assert summary["files"]["/o/new"]["owner"] == "7:0"
    assert sorted(conformance.summarize(str(archive), 1, ["x"])["files"]) == ["/a/l", "/o", "/o/new"]


def test_the_reference_daemon_is_reachable_when_named():
    """HAKOBUNE_REFERENCE_DOCKER_HOST set but unusable is a mistake worth saying."""
    if not REFERENCE_DOCKER_HOST:
        pytest.skip("HAKOBUNE_REFERENCE_DOCKER_HOST is not set")
    proc = subprocess.run(["docker", "info"], env={**os.environ, "DOCKER_HOST": REFERENCE_DOCKER_HOST},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
