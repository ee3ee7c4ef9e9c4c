"""The parser against BuildKit's own parse of its test Dockerfiles.

The cases live outside the repository, in ../shared/reference/dockerfile-
parser-cases (a Dockerfile and BuildKit's `result` per folder, see its
README.md).  Each parse is rendered in BuildKit's s-expression dump format
(Node.Dump: the instruction lower-cased, flags as Go's %q of a string slice,
each argument as Go's strconv.Quote, an ONBUILD trigger in parentheses) and
compared line for line.
"""

import os

import pytest

from hakobune.build.parser import parse

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES_DIR = os.path.join(PROJECT_ROOT, "..", "shared", "reference", "dockerfile-parser-cases")


def _case_names():
    if not os.path.isdir(CASES_DIR):
        return []
    return sorted(name for name in os.listdir(CASES_DIR)
                  if os.path.isfile(os.path.join(CASES_DIR, name, "Dockerfile")))


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
               "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """Go's strconv.Quote: printable characters as they are, others escaped."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append("\\x%02x" % code)
        elif code < 0x10000:
            out.append("\\u%04x" % code)
        else:
            out.append("\\U%08x" % code)
    out.append('"')
    return "".join(out)


def dump(instruction) -> str:
    text = instruction.keyword.lower()
    if instruction.flags:
        text += " [" + " ".join(go_quote(flag) for flag in instruction.flags) + "]"
    if instruction.trigger is not None:
        text += " (" + dump(instruction.trigger) + ")"
    for arg in instruction.args:
        text += " " + go_quote(arg)
    return text.strip()


def test_go_quote_matches_go():
    assert go_quote('a"b\\c\n\x00♥') == '"a\\"b\\\\c\\n\\x00♥"'


def test_cases_directory_is_there_or_skipped():
    if not os.path.isdir(CASES_DIR):
        pytest.skip(f"BuildKit's parser cases are not at {CASES_DIR} (../shared of the project root)")
    assert len(_case_names()) >= 30


@pytest.mark.parametrize("case", _case_names() or [pytest.param("none", marks=pytest.mark.skip(
    reason=f"BuildKit's parser cases are not at {CASES_DIR} (../shared of the project root)"))])
def test_parse_matches_buildkit(case):
    folder = os.path.join(CASES_DIR, case)
    with open(os.path.join(folder, "Dockerfile"), "rb") as file:
        text = file.read()
    with open(os.path.join(folder, "result"), encoding="utf-8") as file:
        expected = file.read()
    got = "".join("(" + dump(instruction) + ")\n" for instruction in parse(text).instructions)
    assert got == expected
