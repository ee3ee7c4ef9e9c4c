"""The build context's ``.dockerignore``, with Docker's pattern rules.

What Docker does (moby/patternmatcher, its ignorefile reader, the CLI's and
BuildKit's context walk), and so what this does:

- `read_patterns`: one pattern a line; a line starting with ``#`` is a comment
  (only at the very start of the line), blank lines are skipped, surrounding
  whitespace is trimmed, each pattern cleaned as Go's filepath.Clean and a
  leading ``/`` removed (``!`` kept in front for exceptions).
- `PatternMatcher`: ``*`` and ``?`` never cross ``/``, ``[...]`` classes,
  ``\\`` escapes, ``**`` any number of directories (``**/x`` also matches
  ``x``, a trailing ``**`` everything below); a pattern matching a directory
  matches everything in it; the last matching pattern wins, ``!`` exceptions
  re-including; a malformed pattern (``[``) is an error.
- `walk_context`: the context's entries in lexical order, symlinks not
  followed; an excluded directory is skipped whole unless an exception
  pattern starts with its path (then its non-excluded contents are kept
  though the directory entry itself is not), as Docker's walk does.

Dockerfile and .dockerignore: Docker sends both in the context even when
.dockerignore names them (`patterns_to_send` adds the exceptions, as the
CLI's TrimBuildFilesFromExcludes), and the builder then drops them from what
COPY/ADD see only if .dockerignore excludes them; with no such pattern,
``COPY . /`` copies the Dockerfile and the .dockerignore like any other file.
`copy_view` walks what COPY sees.  A Dockerfile-specific ignore file
(``<Dockerfile>.dockerignore`` next to the Dockerfile) takes precedence over
the context's ``.dockerignore`` (`ignore_file_for`), as BuildKit does.
"""

import os

from hakobune.build.errors import BuildError

_BOM = "\ufeff"
_GO_SPACE = "\t\n\v\f\r \x85\xa0"
_ESCAPED = frozenset(".+()|{}$")

_EXACT, _PREFIX, _SUFFIX, _REGEXP = range(4)


def clean(path: str) -> str:
    """Go's filepath.Clean (on a Unix host)."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if rooted:
        return "/" + joined
    return joined or "."


def read_patterns(text) -> list[str]:
    """The patterns of a .dockerignore file's text (str or bytes)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    patterns = []
    for number, line in enumerate(text.split("\n")):
        if number == 0 and line.startswith(_BOM):
            line = line[1:]
        line = line.removesuffix("\r")
        if line.startswith("#"):
            continue
        pattern = line.strip(_GO_SPACE)
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip(_GO_SPACE)
        if pattern:
            pattern = clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


class Pattern:
    """One compiled pattern: `text` (cleaned, without ``!``) and `exclusion`."""

    __slots__ = ("text", "exclusion", "kind", "regex")

    def __init__(self, text: str, exclusion: bool):
        self.text = text
        self.exclusion = exclusion
        self.kind = None
        self.regex = None

    def __repr__(self) -> str:
        return f"Pattern({'!' if self.exclusion else ''}{self.text!r})"

    def match(self, path: str) -> bool:
        if self.kind is None:
            self._compile()
        kind = self.kind
        if kind == _EXACT:
            return path == self.text
        if kind == _PREFIX:
            return path.startswith(self.text[:-2])
        if kind == _SUFFIX:
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix[:1] == "/" and path == suffix[1:]
        return self.regex.match(path) is not None

    def _compile(self) -> None:
        """Docker's translation of the pattern into a regular expression."""
        import re
        import warnings

        out = ["^"]
        kind = _EXACT
        text = self.text
        i = 0
        index = 0
        while i < len(text):
            ch = text[i]
            i += 1
            if ch == "*":
                if text[i:i + 1] == "*":
                    i += 1
                    if text[i:i + 1] == "/":
                        i += 1
                    if i >= len(text):
                        if kind == _EXACT:
                            kind = _PREFIX
                        else:
                            out.append(".*")
                            kind = _REGEXP
                    else:
                        out.append("(.*/)?")
                        kind = _REGEXP
                    if index == 0:
                        kind = _SUFFIX
                else:
                    out.append("[^/]*")
                    kind = _REGEXP
            elif ch == "?":
                out.append("[^/]")
                kind = _REGEXP
            elif ch in _ESCAPED:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < len(text):
                    out.append("\\" + text[i])
                    i += 1
                    kind = _REGEXP
                else:
                    out.append("\\\\")
            elif ch in "[]":
                out.append(ch)
                kind = _REGEXP
            else:
                out.append(ch)
            index += 1
        if kind == _REGEXP:
            out.append(r"\Z")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "[[" is a nested set to Python, a "[" to Go
                    self.regex = re.compile("".join(out))
            except re.error:
                raise BuildError(f"syntax error in pattern: {self.text}") from None
        self.kind = kind


def _check_glob_syntax(pattern: str) -> None:
    """BuildError when Go's filepath.Match would call the pattern malformed."""
    bad = BuildError(f"syntax error in pattern: {pattern}")
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "\\":
            if i >= n:
                raise bad
            i += 1
        elif ch == "[":
            if i < n and pattern[i] == "^":
                i += 1
            ranges = 0
            while True:
                if i < n and pattern[i] == "]" and ranges > 0:
                    i += 1
                    break
                i = _class_char(pattern, i, bad)
                if i < n and pattern[i] == "-":
                    i = _class_char(pattern, i + 1, bad)
                ranges += 1


def _class_char(pattern: str, i: int, bad: BuildError) -> int:
    """Past one character of a [...] class (Go's getEsc)."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise bad
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise bad
    return i + 1


class PatternMatcher:
    """The patterns of a .dockerignore, matched as Docker matches them."""

    __slots__ = ("patterns", "exclusions")

    def __init__(self, patterns):
        self.patterns: list[Pattern] = []
        self.exclusions = False
        for text in patterns:
            text = text.strip(_GO_SPACE)
            if not text:
                continue
            text = clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise BuildError('illegal exclusion pattern: "!"')
                text = text[1:]
                self.exclusions = True
            _check_glob_syntax(text)
            self.patterns.append(Pattern(text, exclusion))

    def matches(self, path: str) -> bool:
        """Whether `path` (relative, ``/``-separated) is excluded (Docker's
        MatchesOrParentMatches: a pattern matching a parent directory counts)."""
        excluded = False
        parent = _dirname(path)
        parents = parent.split("/") if parent != "." else []
        for pattern in self.patterns:
            if pattern.exclusion != excluded:
                continue
            matched = pattern.match(path) or any(
                pattern.match("/".join(parents[:i + 1])) for i in range(len(parents)))
            if matched:
                excluded = not pattern.exclusion
        return excluded

    def matches_using_parent_results(self, path: str, parent_results):
        """(excluded, results for children) reusing the parent's results, as
        Docker's context walk does; `parent_results` None for a top entry."""
        excluded = False
        results = [False] * len(self.patterns)
        for index, pattern in enumerate(self.patterns):
            matched = parent_results[index] if parent_results else False
            if not matched:
                if pattern.exclusion != excluded:
                    continue
                matched = pattern.match(path)
                if not matched and not parent_results:
                    parent = _dirname(path)
                    if parent != ".":
                        parents = parent.split("/")
                        matched = any(pattern.match("/".join(parents[:i + 1])) for i in range(len(parents)))
            results[index] = matched
            if matched:
                excluded = not pattern.exclusion
        return excluded, results

    def may_reinclude_below(self, directory: str) -> bool:
        """Whether an exception pattern starts with `directory`'s path."""
        prefix = directory + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


def _dirname(path: str) -> str:
    head = path.rpartition("/")[0]
    return clean(head) if head else "."


def walk_context(root: str, patterns=()):
    """(relative path, os.DirEntry) of each entry of the context directory
    `root` that `patterns` do not exclude, in lexical order, directories
    before their contents; symlinks are entries, never followed."""
    matcher = patterns if isinstance(patterns, PatternMatcher) else PatternMatcher(patterns)
    yield from _walk(root, "", matcher, None)


def _walk(directory: str, relative: str, matcher: PatternMatcher, parent_results):
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        path = relative + "/" + entry.name if relative else entry.name
        is_dir = entry.is_dir(follow_symlinks=False)
        if matcher.patterns:
            excluded, results = matcher.matches_using_parent_results(path, parent_results)
        else:
            excluded, results = False, parent_results
        if excluded:
            if is_dir and matcher.exclusions and matcher.may_reinclude_below(path):
                yield from _walk(entry.path, path, matcher, results)
            continue
        yield path, entry
        if is_dir:
            yield from _walk(entry.path, path, matcher, results)


def ignore_file_for(context_dir: str, dockerfile: str | None = None) -> str | None:
    """The ignore file that applies: ``<Dockerfile>.dockerignore`` beside the
    Dockerfile if there is one, else the context's ``.dockerignore``; None if
    neither exists."""
    candidates = []
    if dockerfile:
        candidates.append(dockerfile + ".dockerignore")
    candidates.append(os.path.join(context_dir, ".dockerignore"))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return None


def load_patterns(context_dir: str, dockerfile: str | None = None) -> list[str]:
    """The patterns that apply to a build of `context_dir` (empty if none)."""
    path = ignore_file_for(context_dir, dockerfile)
    if path is None:
        return []
    with open(path, "rb") as file:
        return read_patterns(file.read())


def patterns_to_send(patterns: list[str], dockerfile: str = "Dockerfile",
                     dockerfile_from_stdin: bool = False) -> list[str]:
    """The patterns with exceptions added so that the .dockerignore and the
    Dockerfile (its path relative to the context) are sent even if excluded."""
    patterns = list(patterns)
    matcher = PatternMatcher(patterns)
    if matcher.matches(".dockerignore"):
        patterns.append("!.dockerignore")
    dockerfile = dockerfile.replace(os.sep, "/")
    if not dockerfile_from_stdin and PatternMatcher(patterns).matches(dockerfile):
        patterns.append("!" + dockerfile)
    return patterns


def files_to_send(root: str, patterns, dockerfile: str = "Dockerfile"):
    """What the client puts in the context it sends (`walk_context` after
    `patterns_to_send`)."""
    return walk_context(root, patterns_to_send(list(patterns), dockerfile))


def copy_view(root: str, patterns):
    """What COPY and ADD see of the context: everything not excluded, the
    Dockerfile and .dockerignore included unless .dockerignore excludes them."""
    return walk_context(root, patterns)
