"""Stages and ARG scopes: global args before FROM, usable in FROM lines only,
build-args replacing defaults, redeclared inside stages; Go durations."""

import pytest

from hakobune.build.durations import parse_go_duration_ns
from hakobune.build.errors import BuildError
from hakobune.build.parser import parse
from hakobune.build.stages import global_args, split_stages, stage_arg_value


def stages_of(text, build_args=None, builtin_args=None):
    return split_stages(parse(text), build_args, builtin_args)


def test_global_args_expand_in_from_lines():
    scope, stages = stages_of("ARG REPO=library\nARG TAG=1.36\nFROM ${REPO}/busybox:$TAG AS Base\nRUN true\n")
    assert scope == {"REPO": "library", "TAG": "1.36"}
    assert [(s.index, s.name, s.base) for s in stages] == [(0, "base", "library/busybox:1.36")]
    assert [i.keyword for i in stages[0].instructions] == ["RUN"]


def test_build_args_replace_global_defaults():
    _, stages = stages_of("ARG TAG=1.36\nFROM busybox:$TAG\n", {"TAG": "latest"})
    assert stages[0].base == "busybox:latest"


def test_global_arg_defaults_see_earlier_global_args_and_build_args():
    assert global_args(parse("ARG A=1\nARG B=${A}2\nARG C\nFROM x\n").instructions, {"A": "9"}) == \
        {"A": "9", "B": "92"}


def test_undeclared_build_arg_is_not_visible_in_from():
    _, stages = stages_of("FROM busybox${SUFFIX:-:default}\n", {"SUFFIX": ":given"})
    assert stages[0].base == "busybox:default"


def test_builtin_args_are_visible_in_from():
    _, stages = stages_of("FROM --platform=$BUILDPLATFORM busybox\n", builtin_args={"BUILDPLATFORM": "linux/amd64"})
    assert stages[0].platform == "linux/amd64"


def test_stage_name_is_not_expanded_and_stages_split_at_each_from():
    _, stages = stages_of("ARG N=x\nFROM a AS $n\nRUN 1\nFROM b\nRUN 2\nRUN 3\n")
    assert [(s.name, s.base, len(s.instructions)) for s in stages] == [("$n", "a", 1), ("", "b", 2)]


def test_instruction_before_from_other_than_arg_is_an_error():
    with pytest.raises(BuildError) as caught:
        stages_of("ARG A\nRUN x\nFROM a\n")
    assert str(caught.value) == "Dockerfile:2: no build stage in current context"


def test_no_from_is_an_error():
    with pytest.raises(BuildError, match="dockerfile contains no stages to build"):
        stages_of("ARG A=1\n")


def test_blank_base_is_an_error_with_line():
    with pytest.raises(BuildError) as caught:
        stages_of("ARG IMAGE\nFROM $IMAGE\n")
    assert str(caught.value) == "Dockerfile:2: base name ($IMAGE) should not be blank"


def test_bad_substitution_in_from_names_the_line():
    with pytest.raises(BuildError) as caught:
        stages_of("\nFROM ${IMAGE:?required}\n")
    assert str(caught.value) == 'Dockerfile:2: failed to process "${IMAGE:?required}": IMAGE: required'


def test_arg_redeclared_in_stage_takes_global_value():
    global_scope = {"VERSION": "1.0"}
    assert stage_arg_value("VERSION", None, {}, global_scope) == "1.0"
    assert stage_arg_value("VERSION", "2.0", {}, global_scope) == "2.0"
    assert stage_arg_value("VERSION", "2.0", {"VERSION": "3.0"}, global_scope) == "3.0"
    assert stage_arg_value("OTHER", None, {}, global_scope) is None


@pytest.mark.parametrize("text, nanoseconds", [
    ("0", 0), ("1s", 10**9), ("1.5s", 1_500_000_000), ("1m30s", 90 * 10**9), ("-2ms", -2_000_000),
    ("1h", 3600 * 10**9), ("10us", 10_000), ("10µs", 10_000), ("3ns", 3), (".5s", 500_000_000),
])
def test_go_durations(text, nanoseconds):
    assert parse_go_duration_ns(text) == nanoseconds


@pytest.mark.parametrize("text, message", [
    ("", 'time: invalid duration ""'), ("5", 'time: missing unit in duration "5"'),
    ("5d", 'time: unknown unit "d" in duration "5d"'), ("s", 'time: invalid duration "s"'),
    ("1..5s", 'time: invalid duration "1..5s"'),
])
def test_go_duration_errors(text, message):
    with pytest.raises(BuildError) as caught:
        parse_go_duration_ns(text)
    assert caught.value.cause == message
