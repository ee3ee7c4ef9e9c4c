"""The image commands of the real `hakobune` binary, against docker's recorded
output (shared/reference/engine-api and tests/fixtures/images): columns,
human sizes, truncated ids, messages, exit statuses."""

import json
import os
import pty
import re
import subprocess
import sys
import tarfile

import pytest

from hakobune.cli.images import ellipsis, human_duration, human_size

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "images")
EXPECTED = os.path.join(FIXTURES, "docker-save.expected.json")
SINCE = r"(Less than a second|1 second|\d+ seconds|About a minute|\d+ minutes) ago"


class Hakobune:
    def __init__(self, base):
        self.root = os.path.join(base, "root")
        self.runroot = os.path.join(base, "run")

    def run(self, *args, input=None, binary=False, stdout=subprocess.PIPE):
        proc = subprocess.run([HAKOBUNE, "--root", self.root, "--runroot", self.runroot, *args],
                              input=input, stdout=stdout, stderr=subprocess.PIPE, text=not binary,
                              timeout=120)
        return proc

    def ok(self, *args, **kw):
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert proc.stderr in ("", b""), proc.stderr
        return proc.stdout


def tar_of(directory: str, path: str) -> str:
    with tarfile.open(path, "w") as tar:
        for name in sorted(os.listdir(directory)):
            tar.add(os.path.join(directory, name), arcname=name)
    return path


def regular_bytes(directory: str) -> int:
    total = 0
    for parent, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(parent, name)
            if os.path.isfile(path) and not os.path.islink(path):
                total += os.lstat(path).st_size
    return total


@pytest.fixture(scope="module")
def busybox_tar(busybox_rootfs, tmp_path_factory):
    return tar_of(busybox_rootfs, str(tmp_path_factory.mktemp("tars") / "busybox.tar"))


@pytest.fixture(scope="module")
def hk(busybox_tar, tmp_path_factory):
    """A store with busybox:latest imported (the tests below leave it so)."""
    h = Hakobune(str(tmp_path_factory.mktemp("hakobune")))
    out = h.ok("import", "-c", 'CMD ["sh"]', "-m", "test import", busybox_tar, "busybox:latest")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    h.busybox_id = out.strip()
    return h


@pytest.fixture
def fresh(tmp_path):
    return Hakobune(str(tmp_path))


def table(text: str) -> tuple[str, list[str]]:
    lines = text.splitlines()
    return lines[0], lines[1:]


# --- docker's units ------------------------------------------------------------------

def test_human_units_as_go_units():
    assert human_size(1982373, 3) == "1.98MB"          # docker images, reference
    assert human_size(52735562) == "52.74MB"           # docker system df, reference
    assert human_size(14, 3) == "14B" and human_size(0) == "0B"
    assert human_size(4261000, 3) == "4.26MB" and human_size(1000, 3) == "1kB"
    assert human_duration(0.4) == "Less than a second" and human_duration(7 * 60 + 5) == "7 minutes"
    assert human_duration(24 * 60) == "24 minutes" and human_duration(90) == "About a minute"
    assert human_duration(15 * 86400) == "2 weeks" and human_duration(3 * 86400) == "3 days"
    cut = ellipsis("sh -c echo new > /newfile; busybox mkdir /newdir; true", 45)
    assert cut == "sh -c echo new > /newfile; busybox mkdir /ne\u2026"   # docker history, reference


# --- images ----------------------------------------------------------------------------

def test_images_table(hk, busybox_rootfs):
    header, rows = table(hk.ok("images"))
    assert re.fullmatch(r"REPOSITORY   TAG       IMAGE ID       CREATED +SIZE", header)
    assert len(rows) == 1
    size = human_size(regular_bytes(busybox_rootfs), 3)
    assert re.fullmatch(rf"busybox      latest    {hk.busybox_id[7:19]}   {SINCE} +{re.escape(size)}", rows[0])
    assert rows[0].index(size) == header.index("SIZE")
    fmt = ("--format", r"table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}")   # CREATED moves on
    assert hk.ok("images", *fmt) == hk.ok("image", "ls", *fmt) == hk.ok("image", "list", *fmt) == \
        hk.ok("images", *fmt, "busybox") == hk.ok("images", *fmt, "busybox:latest")


def test_images_quiet_no_trunc_and_formats(hk):
    assert hk.ok("images", "-q") == hk.busybox_id[7:19] + "\n"
    assert hk.ok("images", "-q", "--no-trunc") == hk.busybox_id + "\n"
    assert hk.ok("images", "--format", "{{.Repository}}:{{.Tag}}") == "busybox:latest\n"
    assert hk.ok("images", "--format", r"table {{.ID}}\t{{.Tag}}") == \
        f"IMAGE ID       TAG\n{hk.busybox_id[7:19]}   latest\n"
    row = json.loads(hk.ok("images", "--format", "json"))
    assert sorted(row) == ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                           "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"]
    assert row["Containers"] == "N/A" and row["Digest"] == "<none>" and row["Repository"] == "busybox"
    assert '"Digest":"\\u003cnone\\u003e"' in hk.ok("images", "--format", "json")   # Go's escapes
    header, rows = table(hk.ok("images", "--digests"))
    assert re.fullmatch(r"REPOSITORY   TAG       DIGEST    IMAGE ID       CREATED +SIZE", header)
    assert rows[0].startswith("busybox      latest    <none>    ")


def test_images_filters(hk):
    assert hk.ok("images", "-q", "--filter", "reference=busy*") == hk.busybox_id[7:19] + "\n"
    assert hk.ok("images", "-q", "--filter", "reference=nothing*") == ""
    assert hk.ok("images", "-q", "--filter", "dangling=true") == ""
    assert hk.ok("images", "-q", "--filter", "dangling=false") == hk.busybox_id[7:19] + "\n"
    assert hk.ok("images", "-q", "--filter", "label=nosuch") == ""
    assert hk.ok("images", "-q", "--filter", f"before={hk.busybox_id}") == ""
    proc = hk.run("images", "--filter", "colour=blue")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: Invalid filter 'colour'\n")
    proc = hk.run("images", "--filter", "nonsense")
    assert proc.returncode == 125 and "bad format of filter (expected name=value)" in proc.stderr


# --- inspect -------------------------------------------------------------------------

def test_image_inspect_shape_and_format(hk, busybox_rootfs):
    with open(EXPECTED) as f:
        docker_keys = list(json.load(f)["inspect"]["hakobune-fixture:docker"])
    out = hk.ok("image", "inspect", "busybox")
    assert out.startswith("[\n    {\n        \"Id\": ") and out.endswith("\n]\n")
    (doc,) = json.loads(out)
    assert [k for k in doc if k != "Variant"] == docker_keys
    assert doc["Id"] == hk.busybox_id and doc["RepoTags"] == ["busybox:latest"]
    assert doc["Comment"] == "test import" and doc["Config"]["Cmd"] == ["sh"]
    assert doc["Size"] == regular_bytes(busybox_rootfs)
    assert hk.ok("inspect", "busybox") == out
    assert hk.ok("inspect", "--type", "image", "busybox") == out
    assert hk.ok("inspect", "-f", "{{.Id}}", "busybox") == hk.busybox_id + "\n"
    assert hk.ok("image", "inspect", "-f", "{{json .Config.Cmd}} {{.Os}}", "busybox") == '["sh"] linux\n'
    assert hk.ok("image", "inspect", "--format", "{{index .RepoTags 0}}", hk.busybox_id[7:15]) == \
        "busybox:latest\n"


# --- history ---------------------------------------------------------------------------

def test_history_of_import(hk, busybox_rootfs):
    header, rows = table(hk.ok("history", "busybox"))
    assert re.fullmatch(r"IMAGE          CREATED +CREATED BY   SIZE      COMMENT", header)
    size = human_size(regular_bytes(busybox_rootfs), 3)
    assert re.fullmatch(rf"{hk.busybox_id[7:19]}   {SINCE} +{re.escape(size)} +test import", rows[0])
    assert len(rows) == 1
    assert hk.ok("image", "history", "-q", "busybox") == hk.busybox_id[7:19] + "\n"
    assert hk.ok("history", "--no-trunc", "--format", "{{.ID}}|{{.Comment}}", "busybox") == \
        f"{hk.busybox_id}|test import\n"
    assert hk.ok("history", "-H=false", "--format", "{{.Size}}", "busybox") == \
        f"{regular_bytes(busybox_rootfs)}\n"


# --- tag and rmi ---------------------------------------------------------------------

def test_tag_and_rmi_messages(hk):
    assert hk.ok("tag", "busybox", "mybox:v1") == ""
    assert hk.ok("image", "tag", "busybox:latest", "other/box") == ""
    repos = sorted(hk.ok("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines())
    assert repos == ["busybox:latest", "mybox:v1", "other/box:latest"]
    assert hk.ok("images", "-q") == (hk.busybox_id[7:19] + "\n") * 3   # a row per tag, as docker
    proc = hk.run("rmi", hk.busybox_id[7:19])
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"Error response from daemon: conflict: unable to delete {hk.busybox_id[7:19]} "
                           "(must be forced) - image is referenced in multiple repositories\n")
    assert hk.ok("rmi", "mybox:v1") == "Untagged: mybox:v1\n"              # docker-rmi reference
    proc = hk.run("image", "rm", "other/box", "nosuch")
    assert proc.stdout == "Untagged: other/box:latest\n"
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such image: nosuch:latest\n")
    assert hk.ok("images", "-q") == hk.busybox_id[7:19] + "\n"


def test_rmi_deletes_image_and_layers(hk, fresh):
    fixture = os.path.join(FIXTURES, "tiny-rootfs.tar")
    image_id = fresh.ok("import", fixture, "tiny:v1").strip()
    out = fresh.ok("rmi", "tiny:v1")
    assert out.startswith(f"Untagged: tiny:v1\nDeleted: {image_id}\nDeleted: sha256:")
    assert fresh.ok("images", "-q") == ""


def test_prune_dangling(fresh):
    fixture = os.path.join(FIXTURES, "tiny-rootfs.tar")
    image_id = fresh.ok("import", fixture).strip()                      # no name: dangling
    header, rows = table(fresh.ok("images"))
    assert re.fullmatch(rf"<none>       <none>    {image_id[7:19]}   {SINCE} +58B", rows[0])
    assert fresh.ok("images", "-q", "-f", "dangling=true") == image_id[7:19] + "\n"
    assert fresh.ok("image", "prune", "--filter", "label=nosuch", "-f") == "Total reclaimed space: 0B\n"
    out = fresh.ok("image", "prune", "-f")
    layer = "sha256:78a02f4683c41754fdbf5dfd3dd8cc2e3d3e30cdf43c5d51913f33656a688072"   # its diff id
    assert out == f"Deleted Images:\ndeleted: {image_id}\ndeleted: {layer}\n\nTotal reclaimed space: 58B\n"
    assert fresh.ok("images", "-q") == ""
    proc = fresh.run("image", "prune", input="n\n")
    assert proc.returncode == 0 and proc.stdout.startswith("WARNING! This will remove all dangling images.")


# --- import, save, load --------------------------------------------------------------

def test_import_from_stdin_default_message(fresh):
    with open(os.path.join(FIXTURES, "tiny-rootfs.tar"), "rb") as f:
        data = f.read()
    out = fresh.run("import", "-", "tiny:stdin", input=data, binary=True)
    assert out.returncode == 0, out.stderr
    assert fresh.ok("inspect", "-f", "{{.Comment}}|{{.Size}}", "tiny:stdin") == "Imported from -|58\n"


def test_save_load_round_trip(hk, fresh, tmp_path):
    archive = str(tmp_path / "busybox.tar")
    assert hk.ok("save", "-o", archive, "busybox") == ""
    assert fresh.ok("load", "-i", archive) == "Loaded image: busybox:latest\n"
    assert fresh.ok("images", "-q", "--no-trunc") == hk.busybox_id + "\n"
    again = Hakobune(str(tmp_path / "again"))
    saved = hk.run("image", "save", "busybox:latest", binary=True)           # to a pipe
    assert saved.returncode == 0 and saved.stdout[257:262] == b"ustar"
    loaded = again.run("image", "load", "-q", input=saved.stdout, binary=True)
    assert (loaded.returncode, loaded.stdout) == (0, b"Loaded image: busybox:latest\n")
    assert again.ok("inspect", "-f", "{{.Id}}", "busybox") == hk.busybox_id + "\n"


def test_save_refuses_a_terminal(hk):
    master, slave = pty.openpty()
    try:
        proc = hk.run("save", "busybox", stdout=slave)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 1
    assert proc.stderr == "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"


@pytest.mark.parametrize("name,loaded", [
    ("docker-save.tar", ["hakobune-fixture:docker", "hakobune-fixture:docker-base"]),
    ("podman-docker-archive.tar", ["localhost/hakobune-fixture:podman"]),
    ("podman-oci-archive.tar", ["localhost/hakobune-fixture:podman"]),
])
def test_load_fixtures(fresh, name, loaded):
    out = fresh.ok("load", "-i", os.path.join(FIXTURES, name))
    assert out == "".join(f"Loaded image: {n}\n" for n in loaded)
    listed = sorted(fresh.ok("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines())
    assert listed == sorted(loaded)


def test_docker_fixture_matches_docker(fresh):
    with open(EXPECTED) as f:
        expected = json.load(f)
    fresh.ok("load", "-i", os.path.join(FIXTURES, "docker-save.tar"))
    rows = [json.loads(line) for line in fresh.ok("images", "--no-trunc", "--format", "json").splitlines()]
    assert [(r["ID"], r["Size"]) for r in rows] == [(i["Id"], human_size(i["Size"], 3)) for i in expected["images"]]
    for name, entries in expected["history"].items():
        out = fresh.ok("history", "--no-trunc", "-H=false", "--format",
                       "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", name)
        assert out == "".join(f"{e['Id']}|{e['CreatedBy']}|{e['Size']}|{e['Comment']}\n" for e in entries)
        (doc,) = json.loads(fresh.ok("image", "inspect", name))
        want = dict(expected["inspect"][name])
        for key in ("GraphDriver", "Metadata"):
            doc.pop(key), want.pop(key)
        assert doc == want
    header, rows = table(fresh.ok("history", "hakobune-fixture:docker"))
    assert rows[2].split("   ")[0] == "<missing>"
    assert "/bin/sh -c #(nop) COPY file:1d3a7b4451086354\u2026   24B" in rows[2]
    assert header.index("SIZE") - header.index("CREATED BY") == 48       # 45 + padding, as docker


def test_system_df(fresh):
    fresh.ok("load", "-i", os.path.join(FIXTURES, "docker-save.tar"))
    assert fresh.ok("system", "df") == (
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"
        "Images          2         0         82B       82B (100%)\n"
        "Containers      0         0         0B        0B\n"
        "Local Volumes   0         0         0B        0B\n"
        "Build Cache     0         0         0B        0B\n")
    assert fresh.ok("system", "df", "--format", "{{.Type}}={{.TotalCount}}").splitlines()[0] == "Images=2"


# --- errors --------------------------------------------------------------------------

@pytest.mark.parametrize("args,stdout,stderr", [
    (["rmi", "nosuch"], "", "Error response from daemon: No such image: nosuch:latest\n"),
    (["image", "inspect", "nosuch"], "[]\n", "Error response from daemon: No such image: nosuch:latest\n"),
    (["inspect", "nosuch"], "[]\n", "Error: No such object: nosuch\n"),          # docker-inspect-missing
    (["inspect", "-f", "{{.Id}}", "nosuch"], "", "Error: No such object: nosuch\n"),
    (["history", "nosuch"], "", "Error response from daemon: No such image: nosuch:latest\n"),
    (["tag", "nosuch", "x"], "", "Error response from daemon: No such image: nosuch:latest\n"),
    (["save", "-o", "/dev/null", "nosuch"], "", "Error response from daemon: No such image: nosuch:latest\n"),
    (["load", "-i", "/nonexistent.tar"], "", "open /nonexistent.tar: no such file or directory\n"),
])
def test_missing_image_errors(hk, args, stdout, stderr):
    proc = hk.run(*args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, stdout, stderr)


def test_usage_errors(hk):
    proc = hk.run("images", "--bogus")
    assert proc.returncode == 125 and proc.stderr.startswith("unknown flag: --bogus")
    proc = hk.run("tag", "busybox")
    assert proc.returncode == 1 and "'hakobune tag' requires 2 arguments" in proc.stderr
    proc = hk.run("images", "--format", "{{.Nope")
    assert proc.returncode == 1 and proc.stderr.startswith("template parsing error:")


def test_version_and_info(hk):
    assert hk.ok("version").startswith("Client:\n Version:")
    assert hk.ok("info", "-f", "{{.Images}}") == "1\n"


def test_tag_checks_the_target_as_the_docker_cli(hk):
    proc = hk.run("tag", "busybox", "UPPER")
    assert (proc.returncode, proc.stderr) == (1, 'Error parsing reference: "UPPER" is not a valid repository/tag: '
                                                 "invalid reference format: repository name (library/UPPER) "
                                                 "must be lowercase\n")
    proc = hk.run("tag", "busybox", "a@sha256:" + "ab" * 32)
    assert (proc.returncode, proc.stderr) == (1, "refusing to create a tag with a digest reference\n")


def test_engine_facade(tmp_path):
    from hakobune.engine import Engine
    from hakobune.errors import InvalidArgument, NotFound

    engine = Engine(str(tmp_path / "root"), str(tmp_path / "run"))
    with open(os.path.join(FIXTURES, "docker-save.tar"), "rb") as f:
        assert engine.load_images(f) == ["Loaded image: hakobune-fixture:docker",
                                         "Loaded image: hakobune-fixture:docker-base"]
    assert os.path.isdir(tmp_path / "root" / "image" / "images")
    ids = [s["Id"] for s in engine.images()]
    assert [s["Id"] for s in engine.images(filters={"label": ["org.example.fixture=docker"]})] == ids[:1]
    assert [s["Id"] for s in engine.images(filters={"since": ["hakobune-fixture:docker-base"]})] == ids[:1]
    assert [s["Id"] for s in engine.images(filters={"before": ["hakobune-fixture:docker"]})] == ids[1:]
    only = engine.images(filters={"reference": ["*:docker-base"]})
    assert [s["RepoTags"] for s in only] == [["hakobune-fixture:docker-base"]]
    with pytest.raises(InvalidArgument):
        engine.images(filters={"colour": ["blue"]})
    df = engine.system_df()
    assert df["LayersSize"] == 82
    assert sorted((i["Size"], i["SharedSize"], i["Containers"]) for i in df["Images"]) == [(58, 58, 0), (82, 58, 0)]
    assert engine.inspect_any("hakobune-fixture:docker")[0] == "image"
    with pytest.raises(NotFound, match="No such object: nothing"):
        engine.inspect_any("nothing")
    engine.tag("hakobune-fixture:docker", "second:v1")
    items, errors = engine.remove_images(["second:v1", "nothing"])
    assert items == [{"Untagged": "second:v1"}] and [str(e) for e in errors] == ["No such image: nothing:latest"]
    report = engine.prune_images(all=True, filters={"label": ["org.example.fixture=docker"]})
    assert report["ImagesDeleted"][0] == {"Untagged": "hakobune-fixture:docker"}
    assert [s["RepoTags"] for s in engine.images()] == [["hakobune-fixture:docker-base"]]
