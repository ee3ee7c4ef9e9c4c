"""Image references are normalised and refused exactly as Docker does."""

import pytest

from hakobune.errors import InvalidArgument
from hakobune.oci.reference import (Reference, check_tag, is_valid_tag, parse, parse_named,
                                    parse_pull_target)

SHA256 = "sha256:" + "a" * 64
SHA512 = "sha512:" + "0123456789abcdef" * 8


@pytest.mark.parametrize("text, full", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("user/app", "docker.io/user/app:latest"),
    ("user/app:v1", "docker.io/user/app:v1"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/user/app", "docker.io/user/app:latest"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("a/b/c/d", "docker.io/a/b/c/d:latest"),
    ("localhost/x", "localhost/x:latest"),
    ("localhost:5000/x:tag", "localhost:5000/x:tag"),
    ("localhost:5000/x", "localhost:5000/x:latest"),
    ("example.com/x", "example.com/x:latest"),
    ("example.com:443/team/x:1.0", "example.com:443/team/x:1.0"),
    ("Example.COM/x", "Example.COM/x:latest"),
    ("FOO/bar", "FOO/bar:latest"),
    ("registry:5000/x", "registry:5000/x:latest"),
    ("127.0.0.1:5000/a/b@" + SHA256, "127.0.0.1:5000/a/b@" + SHA256),
    ("[::1]:5000/x", "[::1]:5000/x:latest"),
    ("[fe80::1]/x:t", "[fe80::1]/x:t"),
    ("busybox@" + SHA256, "docker.io/library/busybox@" + SHA256),
    ("busybox:1.36@" + SHA256, "docker.io/library/busybox:1.36@" + SHA256),
    ("busybox@" + SHA512, "docker.io/library/busybox@" + SHA512),
    ("a-b/c__d/e.f/g_h/i---j", "docker.io/a-b/c__d/e.f/g_h/i---j:latest"),
    ("x:_tag", "docker.io/library/x:_tag"),
    ("x:TAG.1-b", "docker.io/library/x:TAG.1-b"),
    ("x:" + "t" * 128, "docker.io/library/x:" + "t" * 128),
    ("foo_bar/x", "docker.io/foo_bar/x:latest"),
    ("sha256:" + "b" * 64, "docker.io/library/sha256:" + "b" * 64),
])
def test_normalised(text, full):
    assert str(parse(text)) == full


@pytest.mark.parametrize("text, domain, path, tag, digest", [
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("localhost:5000/x:tag", "localhost:5000", "x", "tag", None),
    ("127.0.0.1:5000/a/b@" + SHA256, "127.0.0.1:5000", "a/b", None, SHA256),
    ("q/name:tag@" + SHA256, "docker.io", "q/name", "tag", SHA256),
])
def test_parts(text, domain, path, tag, digest):
    reference = parse(text)
    assert (reference.domain, reference.path, reference.tag, reference.digest) == (domain, path, tag, digest)


@pytest.mark.parametrize("text, familiar", [
    ("busybox", "busybox:latest"),
    ("docker.io/library/busybox:1", "busybox:1"),
    ("user/app", "user/app:latest"),
    ("library/a/b", "library/a/b:latest"),
    ("localhost:5000/x:tag", "localhost:5000/x:tag"),
    ("quay.io/library/x", "quay.io/library/x:latest"),
    ("busybox@" + SHA256, "busybox@" + SHA256),
])
def test_familiar(text, familiar):
    assert parse(text).familiar == familiar


def test_familiar_name_of_name_only_references():
    assert parse_named("docker.io/user/app").familiar_name == "user/app"
    assert parse_named("user/app").familiar == "user/app"
    assert parse_named("busybox").familiar == "busybox"


def test_parse_named_keeps_name_only():
    reference = parse_named("busybox")
    assert reference.is_name_only
    assert str(reference) == "docker.io/library/busybox"


def test_pull_target_drops_the_tag_when_a_digest_is_given():
    assert str(parse_pull_target("busybox:1@" + SHA256)) == "docker.io/library/busybox@" + SHA256
    assert str(parse_pull_target("busybox")) == "docker.io/library/busybox:latest"
    assert str(parse_pull_target("busybox:1")) == "docker.io/library/busybox:1"


def test_with_tag_and_digest():
    reference = parse("busybox")
    assert str(reference.with_tag("2")) == "docker.io/library/busybox:2"
    assert str(reference.name_only().with_digest(SHA256)) == "docker.io/library/busybox@" + SHA256
    with pytest.raises(InvalidArgument):
        reference.with_tag("-bad")
    with pytest.raises(InvalidArgument):
        reference.with_digest("sha256:abc")


def test_references_are_values():
    assert parse("busybox") == parse("docker.io/library/busybox:latest")
    assert len({parse("busybox"), parse("library/busybox"), parse("user/app")}) == 2
    assert isinstance(parse("x"), Reference)


@pytest.mark.parametrize("text, message", [
    ("", "must have at least one component"),
    ("FOO", "repository name (library/FOO) must be lowercase"),
    ("docker.io/User/app", "repository name (User/app) must be lowercase"),
    ("user/App:tag", "repository name (user/App) must be lowercase"),
    ("localhost:5000/Foo", "repository name (Foo) must be lowercase"),
    ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
    ("busybox:", "invalid reference format"),
    ("busybox:-tag", "invalid tag '-tag'"),
    ("busybox:.tag", "invalid tag"),
    ("busybox:" + "t" * 129, "invalid tag"),
    ("busybox:ta/g", "invalid reference format"),
    ("busybox@sha256:abc", "invalid digest 'sha256:abc'"),
    ("busybox@sha256:" + "a" * 40, "invalid checksum digest length"),
    ("busybox@sha256:" + "A" * 64, "invalid checksum digest format"),
    ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
    ("busybox@" + "a" * 64, "invalid reference format"),
    ("-busybox", "invalid repository name component '-busybox'"),
    ("busybox-", "invalid reference format"),
    ("bu..sybox", "invalid reference format"),
    ("a/b//c", "invalid reference format"),
    ("a/", "invalid reference format"),
    ("/a", "invalid reference format"),
    ("foo bar", "invalid reference format"),
    ("busybox:tag@", "invalid reference format"),
    ("ex_ample.com/x", "invalid registry domain 'ex_ample.com'"),
    ("-example.com/x", "invalid registry domain"),
    ("localhost:port/x", "invalid registry domain"),
    ("example.com/", "invalid reference format"),
    ("x:t\u00e9", "invalid tag"),
    ("caf\u00e9", "invalid reference format"),
    ("user/" + "a" * 251, "must not be more than 255 characters"),
    ("a" * 248, "must not be more than 255 characters"),
])
def test_refused(text, message):
    with pytest.raises(InvalidArgument) as error:
        parse(text)
    assert message in str(error.value)
    assert str(error.value).startswith(("invalid reference format", "invalid repository name"))


def test_longest_name_accepted():
    assert parse("user/" + "a" * 250).path == "user/" + "a" * 250


@pytest.mark.parametrize("tag, valid", [
    ("latest", True), ("_", True), ("1.0-rc.1", True), ("A" * 128, True),
    ("", False), (".x", False), ("-x", False), ("a" * 129, False), ("a:b", False), ("a/b", False),
    ("\u00e9", False), (None, False),
])
def test_tags(tag, valid):
    assert is_valid_tag(tag) is valid
    if not valid:
        with pytest.raises(InvalidArgument):
            check_tag(tag)


def test_non_string():
    with pytest.raises(InvalidArgument):
        parse(None)
