"""The Dockerfile parser: directives, comments, continuations, the argument
rules of each instruction, JSON forms and their fallback, heredocs, and
errors with their file and line."""

import pytest

from hakobune.build.errors import BuildError
from hakobune.build.parser import Heredoc, parse, parse_dockerfile, parse_heredoc, parse_words
from hakobune.errors import InvalidArgument


def instructions(text, **kwargs):
    return parse(text, **kwargs).instructions


def only(text):
    found = instructions(text)
    assert len(found) == 1, found
    return found[0]


def shape(instruction):
    return instruction.keyword, instruction.flags, instruction.args, instruction.json


# --- directives -------------------------------------------------------------

def test_escape_directive_backtick_changes_continuation_and_escape():
    df = parse("# escape=`\nFROM x\nRUN a `\n  b\nENV P C:\\path\n")
    assert df.escape == "`"
    assert df.directives == {"escape": "`"}
    assert [i.args for i in df.instructions] == [["x"], ["a   b"], ["P", "C:\\path", ""]]


def test_directives_are_case_insensitive_and_allow_spaces():
    df = parse("#  ESCAPE =  `  \n# Syntax = docker/dockerfile:1\n#check=skip=all\nFROM x `\n  AS y\n")
    assert df.directives == {"escape": "`", "syntax": "docker/dockerfile:1", "check": "skip=all"}
    assert df.instructions[0].args == ["x", "AS", "y"]


def test_directive_after_comment_is_a_comment():
    df = parse("# a comment\n# escape=`\nFROM x\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.directives == {}
    assert df.instructions[1].args == ["a  b"]


def test_directive_after_blank_line_is_ignored():
    df = parse("\n# escape=`\nFROM x\n")
    assert df.escape == "\\" and df.directives == {}


def test_directive_after_instruction_is_a_comment():
    df = parse("FROM x\n# escape=`\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.instructions[1].args == ["a  b"]


def test_unknown_directive_ends_directives():
    df = parse("# unknown=1\n# escape=`\nFROM x\n")
    assert df.directives == {} and df.escape == "\\"


def test_directive_line_needs_a_value():
    df = parse("# escape=\n# syntax=x\nFROM x\n")
    assert df.directives == {}


def test_repeated_directive_is_an_error_with_its_line():
    with pytest.raises(BuildError) as caught:
        parse("# escape=`\n# escape=`\nFROM x\n")
    assert str(caught.value) == "Dockerfile:2: only one escape parser directive can be used"


def test_bad_escape_value_is_an_error():
    with pytest.raises(BuildError) as caught:
        parse("# escape=x\nFROM x\n", filename="my.Dockerfile")
    assert str(caught.value) == "my.Dockerfile:1: invalid escape token 'x' does not match ` or \\"


def test_byte_order_mark_is_dropped_before_directives():
    df = parse("\ufeff# escape=`\nFROM x\n".encode())
    assert df.escape == "`"


def test_bytes_with_invalid_utf8_survive():
    assert only(b"RUN echo \xff\n").args == ["echo \udcff"]


# --- comments and continuations ---------------------------------------------

def test_comments_blank_lines_and_indented_comments_are_skipped():
    found = instructions("# c\n\n   # indented comment\nFROM x\n\t# tab\nRUN a # not a comment\n")
    assert [shape(i) for i in found] == [("FROM", [], ["x"], False), ("RUN", [], ["a # not a comment"], False)]


def test_comment_lines_are_recorded_above_the_instruction():
    found = instructions("# first\n# second\nFROM x\n\n#\n# about run\nRUN a\n")
    assert found[0].comments == ["first", "second"]
    assert found[1].comments == ["about run"]


def test_continuation_keeps_leading_whitespace_of_following_lines():
    assert only("RUN a \\\n    b\n").args == ["a     b"]


def test_continuation_allows_trailing_blanks_after_escape():
    assert only("RUN a \\  \t\nb\n").args == ["a b"]


def test_comment_and_blank_lines_inside_a_continuation_are_skipped():
    df = parse("RUN a \\\n# comment\n\n    # indented\n  \nb\n")
    assert df.instructions[0].args == ["a b"]
    assert df.instructions[0].start_line == 1 and df.instructions[0].end_line == 6
    assert df.warnings == [(6, "Empty continuation line found in: RUN a b")]


def test_escaped_escape_at_end_is_not_a_continuation():
    found = instructions("ENV C a\\\\\nENV D b\n")
    assert [i.args for i in found] == [["C", "a\\\\", ""], ["D", "b", ""]]


def test_lone_escape_line_continues():
    assert only("RUN a\\\n\\\nb\n").args == ["ab"]


def test_continuation_at_end_of_file():
    assert only("RUN something \\").args == ["something"]


def test_crlf_line_endings():
    found = instructions("FROM x\r\nRUN a \\\r\n b\r\n")
    assert [i.args for i in found] == [["x"], ["a  b"]]


def test_line_numbers_span_continuations():
    found = instructions("\nFROM x\n\nRUN a \\\n b \\\n c\nUSER u\n")
    assert [(i.start_line, i.end_line) for i in found] == [(2, 2), (4, 6), (7, 7)]


def test_original_text_is_the_joined_line():
    assert only("run  --mount=type=cache,target=/c  make \\\n all").original == \
        "run  --mount=type=cache,target=/c  make  all"


def test_keyword_is_upper_cased():
    assert only("from alpine as build").keyword == "FROM"


def test_empty_file_and_only_comments_are_errors():
    for text in ("", "\n\n", "# only\n# comments\n"):
        with pytest.raises(BuildError, match="file with no instructions"):
            parse(text)


# --- flags ------------------------------------------------------------------

def test_flags_are_collected_as_given():
    ins = only("COPY --from=build --chown=1:1 --chmod=755 --link a b")
    assert shape(ins) == ("COPY", ["--from=build", "--chown=1:1", "--chmod=755", "--link"], ["a", "b"], False)


def test_flag_quotes_and_escapes_are_processed():
    ins = only('RUN --mount="type=bind,target=/a b" --network=\'none\' --x=a\\ b echo')
    assert ins.flags == ["--mount=type=bind,target=/a b", "--network=none", "--x=a b"]
    assert ins.args == ["echo"]


def test_double_dash_ends_flags():
    ins = only("COPY --chown=1 -- --notaflag /dst")
    assert ins.flags == ["--chown=1"] and ins.args == ["--notaflag", "/dst"]


def test_flags_stop_at_first_non_flag_word():
    ins = only("RUN echo --not-a-flag")
    assert ins.flags == [] and ins.args == ["echo --not-a-flag"]


def test_flags_before_json():
    ins = only('CMD --doit [ "a", "b" ]')
    assert shape(ins) == ("CMD", ["--doit"], ["a", "b"], True)


# --- argument rules ---------------------------------------------------------

def test_from_with_platform_and_stage_name():
    ins = only("FROM --platform=$BUILDPLATFORM golang:1.22 AS build")
    assert shape(ins) == ("FROM", ["--platform=$BUILDPLATFORM"], ["golang:1.22", "AS", "build"], False)


def test_run_shell_and_exec_forms():
    assert shape(only("RUN echo  hi")) == ("RUN", [], ["echo  hi"], False)
    assert shape(only('RUN ["echo", "hi"]')) == ("RUN", [], ["echo", "hi"], True)


def test_json_forms_of_every_instruction_that_has_one():
    for keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"):
        ins = only(f'{keyword} ["a b", "c"]')
        assert (ins.args, ins.json) == (["a b", "c"], True), keyword


def test_json_escapes_are_decoded():
    assert only('CMD ["\\u0041\\n\\"", "\\/"]').args == ['A\n"', "/"]


def test_empty_json_array():
    assert shape(only("CMD []")) == ("CMD", [], [], True)


def test_malformed_json_falls_back_to_shell_form():
    cases = {
        "CMD ['echo','single']": ["['echo','single']"],
        'CMD ["echo", "unterminated': ['["echo", "unterminated'],
        'CMD ["a"] ["b"]': ['["a"] ["b"]'],
        'CMD ["a",]': ['["a",]'],
        'ENTRYPOINT [NaN]': ["[NaN]"],
    }
    for text, args in cases.items():
        ins = only(text)
        assert (ins.args, ins.json) == (args, False), text


def test_malformed_json_copy_falls_back_to_whitespace_split():
    assert shape(only("COPY ['a', '/b']")) == ("COPY", [], ["['a',", "'/b']"], False)


def test_json_array_of_non_strings_is_an_error():
    with pytest.raises(BuildError) as caught:
        parse('FROM x\nCMD ["a", 1]\n')
    assert str(caught.value) == ("Dockerfile:2: when using JSON array syntax, "
                                 "arrays must be comprised of strings only")


def test_add_copy_volume_shell_forms_split_on_whitespace():
    assert only("ADD a  b\t/c/").args == ["a", "b", "/c/"]
    assert only("VOLUME /a /b").args == ["/a", "/b"]


def test_expose_and_from_split_on_whitespace():
    assert only("EXPOSE 80/tcp  53/udp").args == ["80/tcp", "53/udp"]


def test_single_string_instructions():
    for keyword in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER"):
        assert only(f"{keyword}  a b  ").args == ["a b"], keyword
    assert only("USER").args == []


def test_env_pairs_and_quotes_kept_for_expansion():
    ins = only('ENV a=b c="d e" f=g\\ h')
    assert ins.args == ["a", "b", "=", "c", '"d e"', "=", "f", "g\\ h", "="]
    assert ins.pairs() == [("a", "b"), ("c", '"d e"'), ("f", "g\\ h")]


def test_env_legacy_form_takes_the_rest_of_the_line():
    ins = only("ENV PATH /usr/bin:$PATH  more words")
    assert ins.args == ["PATH", "/usr/bin:$PATH  more words", ""]
    assert ins.pairs() == [("PATH", "/usr/bin:$PATH  more words")]


def test_env_legacy_form_needs_a_value():
    with pytest.raises(BuildError, match=r"^Dockerfile:1: ENV must have two arguments$"):
        parse("ENV LONELY\n")


def test_env_pair_without_equals_is_an_error():
    with pytest.raises(BuildError) as caught:
        parse('FROM x\nENV a=b c\n')
    assert str(caught.value) == ('Dockerfile:2: Syntax error - can\'t find = in "c". '
                                 'Must be of the form: name=value')


def test_label_pairs_with_quotes():
    ins = only('LABEL "com.example.vendor"="ACME" version=1.0 description="a b"')
    assert ins.pairs() == [('"com.example.vendor"', '"ACME"'), ("version", "1.0"), ("description", '"a b"')]


def test_arg_several_per_line_with_defaults():
    assert only('ARG a b=2 c="x y"').args == ["a", "b=2", 'c="x y"']


def test_healthcheck_forms():
    assert shape(only("HEALTHCHECK NONE")) == ("HEALTHCHECK", [], ["NONE"], False)
    assert shape(only("HEALTHCHECK --interval=5s CMD curl -f http://x/ || exit 1")) == \
        ("HEALTHCHECK", ["--interval=5s"], ["CMD", "curl -f http://x/ || exit 1"], False)
    assert shape(only('HEALTHCHECK CMD ["curl", "-f"]')) == ("HEALTHCHECK", [], ["CMD", "curl", "-f"], True)


def test_onbuild_holds_its_trigger():
    ins = only("ONBUILD COPY --chown=1 . /app")
    assert ins.args == [] and ins.trigger is not None
    assert shape(ins.trigger) == ("COPY", ["--chown=1"], [".", "/app"], False)
    assert shape(only('ONBUILD RUN ["a"]').trigger) == ("RUN", [], ["a"], True)


def test_unknown_instruction_is_kept_by_the_raw_parse():
    assert shape(only("FORM x")) == ("FORM", [], [], False)


def test_parse_words_keeps_quotes_and_escapes():
    assert parse_words('a "b c" d\\ e \'f g\'', "\\") == ["a", '"b c"', "d\\ e", "'f g'"]
    assert parse_words('"" x', "\\") == ['""', "x"]


# --- heredocs ---------------------------------------------------------------

def test_run_heredoc_collects_the_body():
    df = parse("FROM x\nRUN <<EOF\necho $HOME\n  indented\nEOF\nUSER u\n")
    run = df.instructions[1]
    assert run.heredocs == [Heredoc("EOF", "echo $HOME\n  indented\n", expand=True)]
    assert (run.start_line, run.end_line) == (2, 5)
    assert df.instructions[2].keyword == "USER"


def test_chomped_heredoc_strips_leading_tabs_and_allows_indented_terminator():
    run = only("RUN <<-EOF\n\t\techo a\n\t  b\n\tEOF\n")
    assert run.heredocs == [Heredoc("EOF", "echo a\n  b\n", chomp=True)]


def test_quoted_heredoc_name_disables_expansion():
    for opener in ('<<"EOF"', "<<'EOF'", "<<E'O'F", '<<-"EOF"'):
        run = only(f"RUN {opener}\n$X\nEOF\n")
        assert run.heredocs[0].name == "EOF" and run.heredocs[0].expand is False, opener


def test_several_heredocs_on_one_line():
    copy = only("COPY <<A <<B /dest/\none\nA\ntwo\nB\n")
    assert copy.args == ["<<A", "<<B", "/dest/"]
    assert [(h.name, h.content) for h in copy.heredocs] == [("A", "one\n"), ("B", "two\n")]


def test_heredoc_with_file_descriptor_and_command():
    run = only("RUN 3<<EOF python3\nprint(1)\nEOF\n")
    assert run.heredocs == [Heredoc("EOF", "print(1)\n", fd=3)]


def test_heredoc_lines_are_not_comments_or_continuations():
    run = only("RUN <<EOF\n# kept\nline \\\nEOF\n")
    assert run.heredocs[0].content == "# kept\nline \\\n"


def test_heredoc_in_onbuild_trigger():
    ins = only("ONBUILD RUN <<EOF\necho hi\nEOF\n")
    assert ins.heredocs == [Heredoc("EOF", "echo hi\n")]


def test_no_heredoc_in_json_form_quotes_or_other_instructions():
    assert instructions('RUN ["<<EOF"]\nEOF\n')[0].heredocs == []
    assert instructions('RUN "<<EOF"\n')[0].heredocs == []
    found = instructions("USER <<EOF\nEOF\n")
    assert [i.keyword for i in found] == ["USER", "EOF"]


def test_unterminated_heredoc_is_an_error():
    with pytest.raises(BuildError) as caught:
        parse("FROM x\nRUN <<EOF\necho\n")
    assert str(caught.value) == "Dockerfile:2: unterminated heredoc"
    assert caught.value.end_line == 3


def test_parse_heredoc_words():
    assert parse_heredoc("<<EOF") == Heredoc("EOF")
    assert parse_heredoc("<<-EOF") == Heredoc("EOF", chomp=True)
    assert parse_heredoc("2<<'X'") == Heredoc("X", expand=False, fd=2)
    assert parse_heredoc("<<") is None
    assert parse_heredoc("<<<x") is None
    assert parse_heredoc("a<<x") is None


# --- checked parse ----------------------------------------------------------

def test_unknown_instruction_error_names_file_line_and_suggestion():
    with pytest.raises(BuildError) as caught:
        parse_dockerfile("FROM x\n\nFORM y\n")
    assert str(caught.value) == "Dockerfile:3: unknown instruction: FORM (did you mean FROM?)"
    assert caught.value.line == 3
    assert isinstance(caught.value, InvalidArgument)


def test_unknown_instruction_without_a_close_match():
    with pytest.raises(BuildError) as caught:
        parse_dockerfile("FROM x\nfrobnicate y\n", filename="sub/Dockerfile.dev")
    assert str(caught.value) == "sub/Dockerfile.dev:2: unknown instruction: frobnicate"


def test_lower_case_suggestion_follows_the_case_written():
    with pytest.raises(BuildError, match=r"unknown instruction: cpoy \(did you mean copy\?\)"):
        parse_dockerfile("FROM x\ncpoy a b\n")


def test_checked_parse_accepts_every_instruction():
    text = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM --platform=linux/amd64 $BASE AS base
MAINTAINER someone
LABEL a=b
ENV c=d
ARG e f=g
WORKDIR /w
USER 1000:1000
COPY --chown=1:1 --chmod=644 --link a /b/
ADD --checksum=sha256:abc https://example.com/x /x
ADD --keep-git-dir=true https://github.com/a/b.git /src
RUN --mount=type=cache,target=/c --network=none echo hi
SHELL ["/bin/sh", "-c"]
EXPOSE 80/tcp 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=1s --start-interval=1s --retries=3 CMD true
ONBUILD RUN echo child
CMD ["sh"]
ENTRYPOINT ["/bin/sh", "-c"]
FROM base
COPY --from=base /a /b
"""
    assert len(parse_dockerfile(text).instructions) == 22


@pytest.mark.parametrize("text, cause", [
    ("FROM", "FROM requires either one or three arguments"),
    ("FROM a b", "FROM requires either one or three arguments"),
    ("FROM a AS 1x", 'invalid name for build stage: "1x", name can\'t start with a number or contain symbols'),
    ("FROM a AS b$c", 'invalid name for build stage: "b$c", name can\'t start with a number or contain symbols'),
    ("FROM --pltform=x a", "unknown flag: pltform (did you mean platform?)"),
    ("COPY --user=me a b", "unknown flag: user"),
    ("COPY --from a b", "missing a value on flag: from"),
    ("COPY --link=maybe a b", "expecting boolean value for flag link, not: maybe"),
    ("COPY --link= a b", "missing a value on flag: link"),
    ("COPY --from=a --from=b c d", "duplicate flag specified: from"),
    ("COPY a", "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
    ("ADD a", "ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
    ("COPY a <<EOF\nx\nEOF", "COPY cannot accept a heredoc as a destination"),
    ("CMD --doit x", "unknown flag: doit"),
    ("ENV", "ENV requires at least one argument"),
    ("ENV =x", "ENV names can not be blank"),
    ("LABEL", "LABEL requires at least one argument"),
    ("ARG", "ARG requires at least one argument"),
    ("ARG =x", "ARG names can not be blank"),
    ("USER", "USER requires exactly one argument"),
    ("WORKDIR", "WORKDIR requires exactly one argument"),
    ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
    ("MAINTAINER", "MAINTAINER requires exactly one argument"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ('VOLUME [" "]', "VOLUME specified can not be an empty string"),
    ("SHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form"),
    ("SHELL", "SHELL requires at least one argument"),
    ("ONBUILD", "ONBUILD requires at least one argument"),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD MAINTAINER x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("HEALTHCHECK --interval=1s NONE", "unknown flag: interval"),
    ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK CONNECT TCP 7000", 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)'),
    ("HEALTHCHECK --interval=10us CMD true", 'Interval "interval" cannot be less than 1ms'),
    ("HEALTHCHECK --timeout=5 CMD true", 'time: missing unit in duration "5"'),
    ("HEALTHCHECK --retries=-1 CMD true", "--retries cannot be negative (-1)"),
])
def test_checked_parse_errors(text, cause):
    with pytest.raises(BuildError) as caught:
        parse_dockerfile("FROM scratch\n" + text + "\n")
    assert caught.value.cause == cause
    assert caught.value.line == 2


def test_healthcheck_zero_durations_are_accepted():
    parse_dockerfile("FROM x\nHEALTHCHECK --interval=0s --timeout=0s --retries=0 CMD [\"t\"]\n")


def test_checked_parse_lowercases_nothing_but_accepts_mixed_case_as():
    df = parse_dockerfile("FROM a as Builder\n")
    assert df.instructions[0].args == ["a", "as", "Builder"]


# --- robustness ---------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_DOCKERFILE_ALPHABET = st.sampled_from(list("FROMRUNCOPYENVARG =\"'\\`$#{}[]<-:,\n\t\r xyz0123456789") + ["<<EOF", "\nEOF\n", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_DOCKERFILE_ALPHABET, max_size=80).map("".join))
def test_any_text_parses_or_fails_with_a_located_build_error(text):
    try:
        df = parse_dockerfile(text)
    except BuildError as error:
        assert error.line is not None and error.line >= 1
    else:
        for instruction in df.instructions:
            assert 1 <= instruction.start_line <= instruction.end_line
