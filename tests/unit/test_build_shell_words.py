"""Variable substitution as BuildKit's shell lexer does it: each form, quotes,
escapes (backslash and backtick), word splitting, and the error cases."""

import pytest

from hakobune.build.errors import BuildError
from hakobune.build.shell_words import EXPANDED_INSTRUCTIONS, Lexer, expand, split_words_and_expand

ENV = {"A": "a", "SPACED": "x  y", "EMPTY": "", "P": "/usr/local/bin", "K": "한국어"}


@pytest.mark.parametrize("word, expected", [
    ("plain", "plain"),
    ("$A", "a"),
    ("${A}", "a"),
    ("pre${A}post", "preapost"),
    ("$Apost", ""),
    ("$UNSET", ""),
    ("${UNSET}", ""),
    ("$", "$"),
    ("$.", "$."),
    ("a$1b", "ab"),
    ("$$", ""),
    ("$K", "한국어"),
    # defaults and alternatives
    ("${A:-d}", "a"), ("${EMPTY:-d}", "d"), ("${UNSET:-d}", "d"),
    ("${A-d}", "a"), ("${EMPTY-d}", ""), ("${UNSET-d}", "d"),
    ("${A:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${UNSET:+alt}", ""),
    ("${A+alt}", "alt"), ("${EMPTY+alt}", "alt"), ("${UNSET+alt}", ""),
    ("${UNSET:-$A}", "a"), ("${UNSET:-${A:+nested}}", "nested"),
    ("${UNSET:-'quoted $A'}", "quoted $A"),
    ("${A:?msg}", "a"), ("${EMPTY?msg}", ""),
    # pattern removal and replacement
    ("${P#*/}", "usr/local/bin"), ("${P##*/}", "bin"),
    ("${P%/*}", "/usr/local"), ("${P%%/*}", ""),
    ("${P/local/opt}", "/usr/opt/bin"), ("${P//l/L}", "/usr/LocaL/bin"),
    ("${P#nomatch}", "/usr/local/bin"),
    # quotes
    ("'$A'", "$A"), ('"$A"', "a"), ('"${A}b"', "ab"),
    ("'a\"b'", 'a"b'), ('"a\'b"', "a'b"),
    ("\"''\"", "''"), ("he'll'o", "hello"),
    # escapes
    ("\\$A", "$A"), ("\\\\$A", "\\a"), ('"\\$A"', "$A"), ('"\\"q\\""', '"q"'),
    ('"\\t"', "\\t"), ("\\t", "t"), ("a\\ b", "a b"), ("end\\", "end"),
    ("'\\n'", "\\n"),
])
def test_expand(word, expected):
    assert expand(word, ENV) == expected


def test_backtick_escape():
    assert expand("`$A", ENV, escape="`") == "$A"
    assert expand("C:\\dir\\$A", ENV, escape="`") == "C:\\dir\\a"
    assert expand('"`"x`""', ENV, escape="`") == '"x"'


@pytest.mark.parametrize("word, cause", [
    ("${UNSET:?}", "UNSET: is not allowed to be unset"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
    ("${UNSET:?must set $A}", "UNSET: must set a"),
    ("${A", "syntax error: missing '}'"),
    ("${A:-x", "syntax error: missing '}'"),
    ("${", "syntax error: missing '}'"),
    ("${}", "syntax error: bad substitution"),
    ("${:-x}", "syntax error: bad substitution"),
    ("${A:0:1}", "unsupported modifier (:0) in substitution"),
    ("${A*}", "unsupported modifier (*) in substitution"),
    ("${A:#x}", "unsupported modifier (:#) in substitution"),
    ("'open", "unexpected end of statement while looking for matching single-quote"),
    ('"open', "unexpected end of statement while looking for matching double-quote"),
    ("${P/a", "syntax error: missing '/' in ${}"),
])
def test_expand_errors(word, cause):
    with pytest.raises(BuildError) as caught:
        expand(word, ENV)
    quoted = word.replace("\\", "\\\\").replace('"', '\\"')
    assert caught.value.cause == f'failed to process "{quoted}": {cause}'


@pytest.mark.parametrize("text, words", [
    ("a b  c", ["a", "b", "c"]),
    ("$SPACED", ["x", "y"]),
    ('"$SPACED"', ["x  y"]),
    ("pre$SPACED", ["prex", "y"]),
    ("'a b' c", ["a b", "c"]),
    ("a\\ b c", ["a b", "c"]),
    ('""', []),
    ('"" a', ["a"]),
    ("a '' b", ["a", "b"]),
    ("$EMPTY", []),
    ("80/tcp ${PORT:-53}/udp", ["80/tcp", "53/udp"]),
    ("  lead trail  ", ["lead", "trail"]),
])
def test_split_words_and_expand(text, words):
    assert split_words_and_expand(text, ENV) == words


def test_unset_references_kept_when_asked():
    lexer = Lexer(skip_unset_env=True)
    assert lexer.process_word("$A $UNSET ${UNSET} ${UNSET:-d}", ENV) == "a $UNSET ${UNSET} ${UNSET:-d}"


def test_raw_quotes_keep_quote_characters():
    assert Lexer(raw_quotes=True).process_word("'$A' \"$A\"", ENV) == "'$A' \"a\""


def test_matches_report_set_and_unset_names():
    result, matched, unmatched = Lexer().process_word_with_matches("$A ${UNSET:-x} $EMPTY", ENV)
    assert result == "a x "
    assert matched == {"A", "EMPTY"} and unmatched == {"UNSET"}


def test_env_can_be_any_mapping_and_none():
    class Env(dict):
        pass

    assert expand("$A", Env(A="1")) == "1"
    assert expand("$A-x", None) == "-x"


def test_where_substitution_applies():
    assert set(EXPANDED_INSTRUCTIONS) == {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL",
                                          "USER", "VOLUME", "WORKDIR", "ARG"}
    for keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "MAINTAINER", "ONBUILD"):
        assert keyword not in EXPANDED_INSTRUCTIONS


def test_expand_instruction_applies_each_rule():
    from hakobune.build.parser import parse
    from hakobune.build.shell_words import expand_instruction

    env = {"V": "1", "P": "8080", "D": "/app", "U": "nobody", "PORTS": "53/udp  54"}
    text = ("FROM x\n"
            "ENV a=$V b=\"${V} two\"\n"
            "ENV K$V kept $V\n"
            "LABEL l=$V\n"
            "ARG n$V=${V}0 plain\n"
            "EXPOSE $P/tcp $PORTS\n"
            "COPY <<EOF $D/a* $D/\nbody $V\nEOF\n"
            "COPY [\"$D/x\", \"$D/\"]\n"
            "WORKDIR $D\n"
            "USER ${U:-root}\n"
            "RUN echo $V\n"
            "CMD [\"$V\"]\n")
    got = [expand_instruction(ins, env) for ins in parse(text).instructions]
    assert got == [
        ["x"],
        ["a", "1", "=", "b", "1 two", "="],
        ["K1", "kept 1", ""],
        ["l", "1", "="],
        ["n1=10", "plain"],
        ["8080/tcp", "53/udp", "54"],
        ["<<EOF", "/app/a*", "/app/"],
        ["/app/x", "/app/"],
        ["/app"],
        ["nobody"],
        ["echo $V"],
        ["$V"],
    ]


def test_expand_instruction_errors_name_the_line():
    from hakobune.build.parser import parse
    from hakobune.build.shell_words import expand_instruction

    ins = parse("FROM x\n\nWORKDIR ${D:?set D}\n").instructions[1]
    with pytest.raises(BuildError) as caught:
        expand_instruction(ins, {}, filename="app.Dockerfile")
    assert str(caught.value) == 'app.Dockerfile:3: failed to process "${D:?set D}": D: set D'


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("$A{}:-+?#%/'\"\\` xy*") + ["${A", "${UNSET", "${EMPTY"]), max_size=40).map("".join))
def test_any_word_expands_or_fails_with_a_build_error(word):
    try:
        expand(word, ENV)
        split_words_and_expand(word, ENV)
    except BuildError as error:
        assert error.cause.startswith("failed to process ")
