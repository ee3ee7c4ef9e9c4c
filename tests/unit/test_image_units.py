"""Pure parts of the image store: --change instructions, the reference index's
file, image records, archive member names, OCI names, times, Docker's
container config shape."""

import json

import pytest

from hakobune.errors import InvalidArgument, SystemFailure
from hakobune.image import _timefmt
from hakobune.image.archive_formats import _annotated_names
from hakobune.image.archive_reader import clean_member_name
from hakobune.image.changes import apply_changes
from hakobune.image.records import ImageRecord, LayerBlob
from hakobune.image.references import References
from hakobune.image.removal import _single_reference
from hakobune.image.views import container_config
from hakobune.oci.reference import parse, parse_named

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


# --- changes ---------------------------------------------------------------------------

def test_cmd_and_entrypoint_forms():
    assert apply_changes({}, ['CMD ["a", "b c"]'])["Cmd"] == ["a", "b c"]
    assert apply_changes({}, ["CMD echo $HOME"])["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]
    assert apply_changes({}, ['CMD ["not", 1]'])["Cmd"] == ["/bin/sh", "-c", '["not", 1]']
    assert apply_changes({"Cmd": ["x"]}, ['ENTRYPOINT ["e"]']) == {"Cmd": None, "Entrypoint": ["e"]}
    assert apply_changes({}, ['CMD ["c"]', 'ENTRYPOINT ["e"]']) == {"Cmd": ["c"], "Entrypoint": ["e"]}


def test_env_and_label_forms():
    config = apply_changes({"Env": ["PATH=/bin", "A=old"]}, ['ENV A=new "B=with space" C=\'q\'', "ENV D the rest"])
    assert config["Env"] == ["PATH=/bin", "A=new", "B=with space", "C=q", "D=the rest"]
    assert apply_changes({}, ['LABEL "x.y"=1 z="two words"'])["Labels"] == {"x.y": "1", "z": "two words"}
    with pytest.raises(InvalidArgument, match="needs a value"):
        apply_changes({}, ["ENV LONELY"])
    with pytest.raises(InvalidArgument, match="not KEY=VALUE"):
        apply_changes({}, ["ENV A=1 broken"])


def test_expose_volume_workdir_user_stopsignal_onbuild():
    config = apply_changes({}, ["EXPOSE 80/TCP 1000-1002/udp", 'VOLUME ["/a", "/b c"]', "VOLUME /d",
                                "WORKDIR /srv", "WORKDIR ../opt/./x", "USER 1000:1000", "STOPSIGNAL 9",
                                "ONBUILD ADD . /app"])
    assert config["ExposedPorts"] == {"80/tcp": {}, "1000/udp": {}, "1001/udp": {}, "1002/udp": {}}
    assert config["Volumes"] == {"/a": {}, "/b c": {}, "/d": {}}
    assert config["WorkingDir"] == "/opt/x" and config["User"] == "1000:1000"
    assert config["StopSignal"] == "9" and config["OnBuild"] == ["ADD . /app"]


@pytest.mark.parametrize("change, message", [
    ("RUN true", "run is not a valid change command"), ("CMD", "requires at least one argument"),
    ("EXPOSE http", "invalid port"), ("EXPOSE 0", "invalid port range"), ("STOPSIGNAL -1", "invalid signal"),
    ("ONBUILD FROM x", "isn't allowed"), ("", "an empty change")])
def test_refused_changes(change, message):
    with pytest.raises(InvalidArgument, match=message):
        apply_changes({}, [change])


def test_changes_leave_the_given_config_alone():
    original = {"Env": ["A=1"]}
    apply_changes(original, ["ENV A=2"])
    assert original == {"Env": ["A=1"]}


# --- the reference index ---------------------------------------------------------------

def test_references_file_is_dockers_repositories_json():
    references = References()
    assert references.set(parse("busybox"), DIGEST) is None
    references.set(parse_named(f"busybox@{OTHER}"), DIGEST)
    assert references.set(parse("busybox"), OTHER) == DIGEST
    doc = json.loads(references.to_bytes())
    assert doc == {"Repositories": {"docker.io/library/busybox": {
        "docker.io/library/busybox:latest": OTHER, f"docker.io/library/busybox@{OTHER}": DIGEST}}}
    again = References.from_bytes(references.to_bytes(), "x")
    assert [r.familiar for r in again.of(DIGEST)] == [f"busybox@{OTHER}"]
    assert [r.familiar for r, _ in again.in_repository("docker.io/library/busybox")] == \
        ["busybox:latest", f"busybox@{OTHER}"]


@pytest.mark.parametrize("damage", [b"{", b"[]", b'{"Repositories": {"docker.io/library/a": {"b:1": "x"}}}',
                                    b'{"Repositories": {"docker.io/library/a": {"docker.io/library/b:1": "%s"}}}'
                                    % DIGEST.encode()])
def test_a_damaged_index_is_reported(damage):
    with pytest.raises(SystemFailure, match="damaged"):
        References.from_bytes(damage, "repositories.json")


def test_single_reference_as_docker_counts_it():
    tag, digest = parse("a:1"), parse_named(f"a@{DIGEST}")
    assert _single_reference([tag]) and _single_reference([tag, digest]) and _single_reference([digest])
    assert not _single_reference([]) and not _single_reference([tag, parse("a:2")])
    assert not _single_reference([tag, parse_named(f"b@{DIGEST}")])


# --- records -------------------------------------------------------------------------

def test_record_round_trip_and_merge():
    blob = LayerBlob(OTHER, "application/vnd.oci.image.layer.v1.tar+gzip", 10, 2048)
    record = ImageRecord(DIGEST, [OTHER], [OTHER], {OTHER: [blob]}, "2024-01-01T00:00:00Z")
    assert ImageRecord.from_bytes(record.to_bytes(), "x") == record
    other_blob = LayerBlob(DIGEST, "application/vnd.oci.image.layer.v1.tar", 2048)
    merged = record.merge(ImageRecord(DIGEST, [OTHER], [DIGEST], {OTHER: [blob, other_blob]}, "", "t"))
    assert merged.manifests == [OTHER, DIGEST] and merged.layer_blobs[OTHER] == [blob, other_blob]
    assert merged.last_tag_time == "t" and merged.added == "2024-01-01T00:00:00Z"
    assert record.blob_digests() == {DIGEST, OTHER}
    with pytest.raises(SystemFailure, match="damaged"):
        ImageRecord.from_bytes(b'{"id": "nope"}', "x")


# --- archive member names and OCI names ------------------------------------------------

@pytest.mark.parametrize("raw, clean", [(b"./manifest.json", "manifest.json"), (b"blobs//sha256/./x", "blobs/sha256/x"),
                                        (b"dir/", "dir"), (b".", "")])
def test_member_names(raw, clean):
    assert clean_member_name(raw) == clean


@pytest.mark.parametrize("raw", [b"../x", b"a/../../x", b"a/../b", b"/etc/passwd", b"\xff"])
def test_member_names_refused(raw):
    with pytest.raises(InvalidArgument):
        clean_member_name(raw)


@pytest.mark.parametrize("annotations, names", [
    ({"io.containerd.image.name": "docker.io/library/a:1", "org.opencontainers.image.ref.name": "1"}, ["a:1"]),
    ({"io.containerd.image.name": "docker.io/library/a:1", "org.opencontainers.image.ref.name": "v2"}, ["a:v2"]),
    ({"org.opencontainers.image.ref.name": "localhost/x:tag"}, ["localhost/x:tag"]),
    ({"org.opencontainers.image.ref.name": "latest"}, []),
    ({"org.opencontainers.image.ref.name": "Not A Name/x"}, []),
    ({}, [])])
def test_oci_annotations_give_names(annotations, names):
    assert [r.familiar for r in _annotated_names(annotations)] == names


# --- times and shapes ------------------------------------------------------------------

def test_times():
    assert _timefmt.format_ns(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert _timefmt.format_ns(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert _timefmt.unix_seconds("2023-11-14T22:13:20.999999999Z") == 1_700_000_000
    assert _timefmt.unix_seconds("2023-11-15T00:13:20+02:00") == 1_700_000_000
    assert _timefmt.unix_seconds("") == _timefmt.unix_seconds("garbage") == -62135596800


def test_container_config_shape():
    shaped = container_config({"Cmd": ["sh"], "ExposedPorts": {"80/tcp": {}}, "StopTimeout": 0, "Unknown": 1})
    assert list(shaped) == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                            "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes",
                            "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopTimeout"]
    assert shaped["Cmd"] == ["sh"] and shaped["Env"] is None and shaped["StopTimeout"] == 0
