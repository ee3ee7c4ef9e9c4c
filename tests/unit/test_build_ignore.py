""".dockerignore: reading the file, Docker's pattern rules (``*``, ``?``,
classes, escapes, ``**``, ``!`` exceptions, parent directories), the context
walk, and which of the Dockerfile and .dockerignore are sent and copied."""

import os

import pytest

from hakobune.build.errors import BuildError
from hakobune.build.ignore import (PatternMatcher, clean, copy_view, files_to_send, ignore_file_for,
                                   load_patterns, patterns_to_send, read_patterns, walk_context)


@pytest.mark.parametrize("path, cleaned", [
    ("", "."), (".", "."), ("a/b/", "a/b"), ("a//b", "a/b"), ("./a", "a"), ("a/../b", "b"),
    ("../a", "../a"), ("a/../..", ".."), ("/../a", "/a"), ("//a", "/a"), ("/", "/"),
])
def test_clean_is_go_filepath_clean(path, cleaned):
    assert clean(path) == cleaned


def test_read_patterns():
    text = ("\ufeff# comment\n"
            "\n"
            "  spaced  \n"
            " # not a comment: only a line starting with # is one\n"
            "/rooted/./x/\n"
            "a/../b\n"
            "! excepted \n"
            "!/rooted\n"
            "crlf\r\n"
            "/\n")
    assert read_patterns(text) == ["spaced", "# not a comment: only a line starting with # is one",
                                   "rooted/x", "b", "!excepted", "!rooted", "crlf", "/"]


def test_read_patterns_from_bytes():
    assert read_patterns(b"*.o\n!keep.o") == ["*.o", "!keep.o"]


def excluded(patterns, path):
    return PatternMatcher(patterns).matches(path)


@pytest.mark.parametrize("pattern, path, result", [
    ("*.go", "main.go", True),
    ("*.go", "cmd/main.go", False),
    ("*/*.go", "cmd/main.go", True),
    ("*", "anything", True),
    ("?.txt", "a.txt", True),
    ("?.txt", "ab.txt", False),
    ("?", "/", False),
    ("[a-c].txt", "b.txt", True),
    ("[a-c].txt", "d.txt", False),
    ("[^a-c].txt", "d.txt", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("abc.def", "abcXdef", False),
    ("a(b)c+", "a(b)c+", True),
    # ** across directories
    ("**/*.go", "main.go", True),
    ("**/*.go", "a/b/c/main.go", True),
    ("**/foo", "foo", True),
    ("**/foo", "x/y/foo", True),
    ("**/foo", "x/barfoo", False),
    ("**foo", "x/barfoo", True),
    ("a/**/z", "a/z", True),
    ("a/**/z", "a/b/c/z", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/sub/file", True),
    ("dir/**", "dir", False),
    ("**", "anything/at/all", True),
    # a matched directory excludes what is inside it
    ("dir", "dir/sub/file", True),
    ("dir/sub", "dir/sub/deep/file", True),
    ("dir/sub", "dir/other", False),
    ("*/temp*", "somedir/temporary.txt", True),
    ("*/temp*", "somedir/temp/file", True),
    ("temp?", "tempa/x", True),
    # exact patterns are whole paths, relative to the context root
    ("file", "dir/file", False),
    ("/file", "file", True),
])
def test_single_pattern(pattern, path, result):
    assert excluded(read_patterns(pattern), path) is result


def test_exceptions_last_matching_line_wins():
    assert excluded(["*.md", "!README.md"], "README.md") is False
    assert excluded(["*.md", "!README.md"], "CHANGES.md") is True
    assert excluded(["!README.md", "*.md"], "README.md") is True
    assert excluded(["*.md", "!README*.md", "README-secret.md"], "README-secret.md") is True
    assert excluded(["*.md", "!README*.md", "README-secret.md"], "README-public.md") is False


def test_exception_inside_excluded_directory():
    patterns = ["docs", "!docs/keep.md"]
    assert excluded(patterns, "docs/keep.md") is False
    assert excluded(patterns, "docs/other.md") is True
    assert excluded(patterns, "docs") is True


def test_exception_of_everything():
    assert excluded(["**", "!src"], "src/main.c") is False
    assert excluded(["**", "!src"], "build/out.o") is True


def test_malformed_patterns_are_errors():
    for pattern in ("[", "a[", "[]a]", "[-]", "[a-", "a\\"):
        with pytest.raises(BuildError, match="syntax error in pattern"):
            PatternMatcher([pattern])
    with pytest.raises(BuildError, match='illegal exclusion pattern: "!"'):
        PatternMatcher(["!"])


def test_empty_and_blank_patterns_are_skipped():
    assert PatternMatcher(["", "  "]).patterns == []
    assert excluded([], "anything") is False


# --- the context walk -------------------------------------------------------

@pytest.fixture
def context(tmp_path):
    files = ["Dockerfile", ".dockerignore", "main.go", "README.md", "notes.md",
             "docs/guide.md", "docs/keep/a.txt", "docs/keep/b.log",
             "build/out.o", "build/sub/deep.o", "src/a.c", "src/b.h", "src/.git/HEAD"]
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    os.symlink("/etc", tmp_path / "link-outside")
    os.symlink("src", tmp_path / "link-dir")
    return tmp_path


def walked(root, patterns):
    return [path for path, _ in walk_context(str(root), patterns)]


def test_walk_without_patterns_lists_everything_in_lexical_order(context):
    assert walked(context, []) == [
        ".dockerignore", "Dockerfile", "README.md", "build", "build/out.o", "build/sub", "build/sub/deep.o",
        "docs", "docs/guide.md", "docs/keep", "docs/keep/a.txt", "docs/keep/b.log", "link-dir",
        "link-outside", "main.go", "notes.md", "src", "src/.git", "src/.git/HEAD", "src/a.c", "src/b.h"]


def test_walk_does_not_follow_symlinks(context):
    entries = dict(walk_context(str(context), []))
    assert entries["link-dir"].is_symlink() and "link-dir/a.c" not in entries
    assert entries["link-outside"].is_symlink()


def test_walk_skips_excluded_directories_whole(context):
    assert walked(context, ["build", "**/.git", "*.md", "link-*"]) == [
        ".dockerignore", "Dockerfile", "docs", "docs/guide.md", "docs/keep", "docs/keep/a.txt",
        "docs/keep/b.log", "main.go", "src", "src/a.c", "src/b.h"]  # "*.md" is the top level only


def test_walk_enters_excluded_directory_when_an_exception_is_below_it(context):
    paths = walked(context, ["docs", "!docs/keep/*.txt"])
    assert "docs" not in paths and "docs/keep" not in paths
    assert "docs/keep/a.txt" in paths
    assert "docs/keep/b.log" not in paths and "docs/guide.md" not in paths


def test_walk_does_not_enter_for_an_exception_that_does_not_start_with_the_directory(context):
    # Docker's walk only looks into an excluded directory for exceptions
    # spelled with its path: "!**/a.txt" does not bring docs/keep/a.txt back.
    paths = walked(context, ["docs", "!**/a.txt"])
    assert not any(path.startswith("docs") for path in paths)


def test_walk_with_everything_excluded_but_some(context):
    assert walked(context, ["*", "!src", "src/*.h"]) == ["src", "src/.git", "src/.git/HEAD", "src/a.c"]


# --- Dockerfile and .dockerignore ---------------------------------------------

def test_copy_sees_dockerfile_and_dockerignore_unless_excluded(context):
    paths = [path for path, _ in copy_view(str(context), ["build", "docs", "src"])]
    assert ".dockerignore" in paths and "Dockerfile" in paths


def test_excluded_dockerfile_and_dockerignore_are_sent_but_not_copied(context):
    patterns = ["Dockerfile", ".dockerignore", "*.md"]
    sent = [path for path, _ in files_to_send(str(context), patterns)]
    assert "Dockerfile" in sent and ".dockerignore" in sent and "README.md" not in sent
    copied = [path for path, _ in copy_view(str(context), patterns)]
    assert "Dockerfile" not in copied and ".dockerignore" not in copied


def test_patterns_to_send_adds_exceptions_only_when_needed():
    assert patterns_to_send(["*.md"]) == ["*.md"]
    assert patterns_to_send(["*"], "build/Dockerfile.dev") == ["*", "!.dockerignore", "!build/Dockerfile.dev"]
    assert patterns_to_send(["Dockerfile"], dockerfile_from_stdin=True) == ["Dockerfile"]


def test_dockerfile_specific_ignore_file_takes_precedence(tmp_path):
    (tmp_path / ".dockerignore").write_text("*.md\n")
    assert load_patterns(str(tmp_path)) == ["*.md"]
    dockerfile = tmp_path / "app.Dockerfile"
    dockerfile.write_text("FROM x\n")
    assert load_patterns(str(tmp_path), str(dockerfile)) == ["*.md"]
    (tmp_path / "app.Dockerfile.dockerignore").write_text("*.go\n")
    assert ignore_file_for(str(tmp_path), str(dockerfile)) == str(dockerfile) + ".dockerignore"
    assert load_patterns(str(tmp_path), str(dockerfile)) == ["*.go"]


def test_no_ignore_file(tmp_path):
    assert ignore_file_for(str(tmp_path)) is None
    assert load_patterns(str(tmp_path)) == []


from hypothesis import given, settings, strategies as st  # noqa: E402

_PATTERN_PIECES = st.sampled_from(list("ab/*?[]^-\\!.+()$ ") + ["**", "**/", "[a-c]", "\\*"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PATTERN_PIECES, max_size=8).map("".join), max_size=4),
       st.sampled_from(["a", "b/a", "a/b/c", "ab", ".", "a.b", "*", "[a]"]))
def test_any_patterns_match_or_fail_with_a_build_error(patterns, path):
    try:
        result = PatternMatcher(patterns).matches(path)
    except BuildError as error:
        assert "pattern" in error.cause
    else:
        assert result in (True, False)
