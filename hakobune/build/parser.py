"""The Dockerfile parser: text → `Instruction`s, as BuildKit's parser reads it.

What it follows (BuildKit's frontend/dockerfile/parser, the Dockerfile
reference):

- Parser directives (``# syntax=``, ``# escape=``, ``# check=``), case
  insensitive, only before anything else: the first line that is not one (a
  comment, an unknown directive, a blank line, an instruction) ends them.  A
  directive given twice is an error; ``escape`` takes ``\\`` or a backtick.
- Comments: a line whose first non-blank character is ``#``, also inside a
  continuation, where blank lines are skipped too (with a warning, as BuildKit).
- Line continuation: the escape character as the last non-blank character
  (spaces and tabs may follow it), unless it is itself escaped.  Continuation
  lines keep their leading whitespace.
- The instruction keyword is the first word; ``--flag`` words after it are the
  flags (quotes and escapes in them processed, ``--`` ends them); the rest is
  split by the instruction's own rule: JSON (exec) form for RUN, CMD,
  ENTRYPOINT, SHELL, ADD, COPY, VOLUME and HEALTHCHECK CMD, falling back to the
  shell form when the JSON is malformed (a JSON array of non-strings is an
  error); ``key=value`` pairs or the legacy ``key value`` for ENV and LABEL;
  words for ARG; whitespace-separated for FROM, EXPOSE and the shell form of
  ADD/COPY/VOLUME; the rest as one string.
- Heredocs (``<<EOF``, ``<<-EOF`` stripping leading tabs, quoted names turning
  expansion off, several per line) on RUN, COPY and ADD (also as ONBUILD
  triggers): their bodies follow the instruction's line.

`parse()` gives the raw parse (BuildKit's AST, which keeps what later checks
refuse); `parse_dockerfile()` also checks each instruction as BuildKit's
instructions package does (unknown instructions, flags, argument counts, stage
names) and raises `BuildError`s like ``Dockerfile:3: unknown instruction:
FORM (did you mean FROM?)``.  Nothing here expands variables: see
`shell_words`.
"""

from hakobune.build.errors import BuildError
from hakobune.build.shell_words import GO_SPACE, Lexer, go_quote

DEFAULT_ESCAPE = "\\"
DIRECTIVES = ("syntax", "escape", "check")

_GO_SPACE = "".join(sorted(GO_SPACE))
_SPLIT_SPACE = "\t\v\f\r "          # BuildKit's reWhitespace
_RE2_SPACE = "\t\n\f\r "            # RE2's \s
_BOM = "\ufeff"


class Heredoc:
    """A heredoc attached to an instruction: its name, body and options.

    `content` is the body as the build uses it (leading tabs stripped from
    each line for ``<<-``); `expand` is False when the name was quoted.
    """

    __slots__ = ("name", "content", "expand", "chomp", "fd")

    def __init__(self, name: str, content: str = "", expand: bool = True, chomp: bool = False, fd: int = 0):
        self.name = name
        self.content = content
        self.expand = expand
        self.chomp = chomp
        self.fd = fd

    def __repr__(self) -> str:
        return f"Heredoc({self.name!r}, {self.content!r}, expand={self.expand}, chomp={self.chomp}, fd={self.fd})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Heredoc) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)


class Instruction:
    """One instruction of a Dockerfile.

    keyword    the instruction, upper-cased (``FROM``)
    flags      the ``--name[=value]`` words as given (quotes processed)
    args       the arguments (ENV and LABEL: key, value, separator triples,
               the separator ``=`` or ``""`` for the legacy ``KEY value``)
    json       True for the JSON (exec) form
    original   the instruction's text, continuation lines joined
    start_line, end_line   1-based lines in the file (heredoc bodies included)
    heredocs   the `Heredoc`s, in order
    trigger    for ONBUILD, the trigger `Instruction`
    comments   the comment lines just above it
    """

    __slots__ = ("keyword", "flags", "args", "json", "original", "start_line", "end_line",
                 "heredocs", "trigger", "comments")

    def __init__(self, keyword: str, args=None, flags=None, json: bool = False, original: str = "",
                 start_line: int = 0, end_line: int = 0, heredocs=None, trigger=None, comments=None):
        self.keyword = keyword
        self.args = args if args is not None else []
        self.flags = flags if flags is not None else []
        self.json = json
        self.original = original
        self.start_line = start_line
        self.end_line = end_line
        self.heredocs = heredocs if heredocs is not None else []
        self.trigger = trigger
        self.comments = comments if comments is not None else []

    def pairs(self) -> list[tuple[str, str]]:
        """ENV/LABEL: the (key, value) pairs, values as written (unexpanded)."""
        return [(self.args[i], self.args[i + 1]) for i in range(0, len(self.args) - 2, 3)]

    def __repr__(self) -> str:
        extra = f", trigger={self.trigger!r}" if self.trigger else ""
        return (f"Instruction({self.keyword!r}, {self.args!r}, flags={self.flags!r}, json={self.json}, "
                f"lines={self.start_line}-{self.end_line}{extra})")


class Dockerfile:
    """A parsed Dockerfile: its instructions, directives and escape character."""

    __slots__ = ("instructions", "directives", "escape", "warnings", "filename")

    def __init__(self, instructions, directives, escape, warnings, filename):
        self.instructions: list[Instruction] = instructions
        self.directives: dict[str, str] = directives
        self.escape: str = escape
        self.warnings: list[tuple[int, str]] = warnings
        self.filename: str = filename


def parse(text, filename: str = "Dockerfile") -> Dockerfile:
    """The raw parse of a Dockerfile's text (str, or bytes in UTF-8)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    return _Parser(text, filename).run()


def parse_dockerfile(text, filename: str = "Dockerfile") -> Dockerfile:
    """Parse and check every instruction as a build would (see `check`)."""
    from hakobune.build.check import check_instruction

    dockerfile = parse(text, filename)
    for instruction in dockerfile.instructions:
        try:
            check_instruction(instruction)
        except BuildError as error:
            raise error.at(filename, instruction.start_line, instruction.end_line) from None
    return dockerfile


# --- lines ------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its newline (as BuildKit's scanner)."""
    lines = []
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            lines.append(text[start:])
            break
        lines.append(text[start:end + 1])
        start = end + 1
    return lines


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def _is_comment(line: str) -> bool:
    return line.lstrip(_GO_SPACE)[:1] == "#"


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without its continuation character, True when it had none)."""
    body = line.rstrip(" \t")
    if body.endswith(escape) and (len(body) == 1 or body[-2] != escape):
        return body[:-1], False
    return line, True


class _DirectiveParser:
    """Parser directives: only in the comments at the very top."""

    __slots__ = ("done", "seen")

    def __init__(self):
        self.done = False
        self.seen: dict[str, str] = {}

    def parse_line(self, line: str):
        """(name, value) when `line` is a directive; ends directives otherwise."""
        if self.done:
            return None
        if not line.startswith("#"):
            self.done = True
            return None
        found = _match_directive(line[1:].lstrip(_GO_SPACE))
        if found is None or found[0].lower() not in DIRECTIVES:
            self.done = True
            return None
        name = found[0].lower()
        if name in self.seen:
            raise BuildError(f"only one {name} parser directive can be used")
        self.seen[name] = found[1]
        return name, found[1]


def _match_directive(text: str):
    """``name = value`` as BuildKit's directive regexp reads it, or None."""
    if not text or not (text[0].isascii() and text[0].isalpha()):
        return None
    end = 1
    while end < len(text) and text[end].isascii() and text[end].isalnum():
        end += 1
    name = text[:end]
    rest = text[end:].lstrip(_RE2_SPACE)
    if not rest.startswith("="):
        return None
    rest = rest[1:]
    value = rest.lstrip(_RE2_SPACE).rstrip(_RE2_SPACE)
    if not value:
        if not rest:
            return None
        value = rest[-1]  # RE2 backtracks: (.+?) takes the last blank
    return name, value


# --- the parser -------------------------------------------------------------

class _Parser:
    __slots__ = ("text", "filename", "lines", "index", "line_number", "escape",
                 "directive_parser", "instructions", "warnings")

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.lines = _lines(text)
        self.index = 0
        self.line_number = 0
        self.escape = DEFAULT_ESCAPE
        self.directive_parser = _DirectiveParser()
        self.instructions: list[Instruction] = []
        self.warnings: list[tuple[int, str]] = []

    def error(self, cause: str, line: int, end_line: int | None = None) -> BuildError:
        return BuildError(cause, self.filename, max(line, 1), end_line)

    def next_raw_line(self):
        if self.index >= len(self.lines):
            return None
        raw = self.lines[self.index]
        self.index += 1
        return raw

    def process_line(self, raw: str, strip_left: bool) -> tuple[str, bool]:
        """The line without its newline (and comment); True if a directive."""
        token = _trim_newline(raw)
        if strip_left:
            token = token.lstrip(_GO_SPACE)
        try:
            directive = self.directive_parser.parse_line(token)
        except BuildError as error:
            raise self.error(error.cause, self.line_number + 1) from None
        if directive is not None and directive[0] == "escape":
            if directive[1] not in ("\\", "`"):
                raise self.error(f"invalid escape token '{directive[1]}' does not match ` or \\",
                                 self.line_number + 1)
            self.escape = directive[1]
        return ("" if _is_comment(token) else token), directive is not None

    def run(self) -> Dockerfile:
        comments: list[str] = []
        while (raw := self.next_raw_line()) is not None:
            if self.line_number == 0 and raw.startswith(_BOM):
                raw = raw[1:]
            if _is_comment(raw):
                comment = raw.lstrip(_GO_SPACE)[1:].strip(_GO_SPACE)
                comments = comments + [comment] if comment else []
            token, is_directive = self.process_line(raw, True)
            if is_directive and comments:
                comments = comments[:-1]
            self.line_number += 1
            start_line = self.line_number
            token, end_of_line = _trim_continuation(token, self.escape)
            if end_of_line and not token:
                continue
            line = self.continued_line(token, end_of_line)
            try:
                instruction = _instruction_from_line(line, self.escape)
            except BuildError as error:
                raise self.error(error.cause, start_line, self.line_number) from None
            instruction.comments = comments
            instruction.start_line = start_line
            self.read_heredocs(instruction, line, start_line)
            instruction.end_line = self.line_number
            self.instructions.append(instruction)
            comments = []
        if not self.instructions:
            raise self.error("file with no instructions", self.line_number)
        return Dockerfile(self.instructions, dict(self.directive_parser.seen), self.escape,
                          self.warnings, self.filename)

    def continued_line(self, first: str, end_of_line: bool) -> str:
        parts = [first]
        empty_continuation = False
        while not end_of_line:
            raw = self.next_raw_line()
            if raw is None:
                break
            token, _ = self.process_line(raw, False)
            self.line_number += 1
            if _is_comment(raw):
                continue
            if not token.lstrip(_GO_SPACE):
                empty_continuation = True
                continue
            token, end_of_line = _trim_continuation(token, self.escape)
            parts.append(token)
        line = "".join(parts)
        if empty_continuation:
            self.warnings.append((self.line_number, "Empty continuation line found in: " + line))
        return line

    def read_heredocs(self, instruction: Instruction, line: str, start_line: int) -> None:
        target = instruction.trigger if instruction.keyword == "ONBUILD" and instruction.trigger else instruction
        if target.keyword not in ("RUN", "COPY", "ADD") or target.json or "<<" not in line:
            return
        try:
            heredocs = heredocs_from_line(line)
        except BuildError as error:
            raise self.error(error.cause, start_line, self.line_number) from None
        for heredoc in heredocs:
            body = []
            while True:
                raw = self.next_raw_line()
                if raw is None:
                    raise self.error("unterminated heredoc", start_line, self.line_number)
                self.line_number += 1
                candidate = _trim_newline(raw)
                if heredoc.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == heredoc.name:
                    break
                body.append(raw.lstrip("\t") if heredoc.chomp else raw)
            heredoc.content = "".join(body)
            instruction.heredocs.append(heredoc)


# --- one instruction --------------------------------------------------------

def _split_whitespace(text: str, limit: int = -1) -> list[str]:
    """Go's reWhitespace.Split(text, limit)."""
    parts = []
    start = i = 0
    while i < len(text):
        if text[i] in _SPLIT_SPACE:
            if 0 < limit <= len(parts) + 1:
                break
            end = i
            while i < len(text) and text[i] in _SPLIT_SPACE:
                i += 1
            parts.append(text[start:end])
            start = i
        else:
            i += 1
    parts.append(text[start:])
    return parts


def _instruction_from_line(line: str, escape: str) -> Instruction:
    """An instruction from its (joined) line: keyword, flags, arguments."""
    command = _split_whitespace(line.strip(_GO_SPACE), 2)
    flags: list[str] = []
    rest = ""
    if len(command) == 2:
        rest, flags = _extract_flags(command[1], escape)
    keyword = command[0].upper()
    rest = rest.strip(_GO_SPACE)
    instruction = Instruction(keyword, flags=flags, original=line)
    split = _ARGUMENT_RULES.get(keyword)
    if split is not None:
        split(instruction, rest, escape)
    return instruction


def _extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """The leading ``--flag`` words of `line` and what follows them."""
    words: list[str] = []
    word: list[str] = []
    in_word = in_quote = False
    quote = ""
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if not in_word and not in_quote:
            if pos == n:
                break
            if ch in GO_SPACE:
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            in_word = True
        if pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if in_word:
            if ch in GO_SPACE:
                text = "".join(word)
                in_word = False
                if text == "--":
                    return line[pos:], words
                if blank_ok or text:
                    words.append(text)
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                in_word, in_quote = False, True
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        # in a quote
        if ch == quote:
            in_word, in_quote = True, False
            pos += 1
            continue
        if ch == escape:
            if pos + 1 == n:
                in_word, in_quote = True, False
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Whitespace-separated words, quotes and escapes kept (BuildKit's parseWords)."""
    words: list[str] = []
    word: list[str] = []
    phase = 0  # 0: between words, 1: in a word, 2: in a quote
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if ch in GO_SPACE:
                pos += 1
                continue
            phase = 1
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == 1:
            if ch in GO_SPACE:
                phase = 0
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = 2
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = 1
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


class _NotJSON(Exception):
    pass


def _parse_json(rest: str) -> list[str]:
    """The strings of a JSON array; _NotJSON when `rest` is none."""
    from hakobune import _fastjson

    rest = rest.lstrip(_GO_SPACE)
    if not rest.startswith("["):
        raise _NotJSON
    try:
        value = _fastjson.loads(rest)
    except (ValueError, RecursionError):
        raise _NotJSON from None
    if not isinstance(value, list):
        raise _NotJSON
    for item in value:
        if not isinstance(item, str):
            raise BuildError("when using JSON array syntax, arrays must be comprised of strings only")
    return [_replace_lone_surrogates(item) for item in value]


def _replace_lone_surrogates(text: str) -> str:
    """Go's JSON decoder turns an unpaired \\uD800 escape into U+FFFD."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def _args_maybe_json(instruction: Instruction, rest: str, escape: str) -> None:
    if not rest:
        return
    try:
        instruction.args = _parse_json(rest)
        instruction.json = True
    except _NotJSON:
        instruction.args = [rest]


def _args_maybe_json_to_list(instruction: Instruction, rest: str, escape: str) -> None:
    try:
        instruction.args = _parse_json(rest)
        instruction.json = True
    except _NotJSON:
        _args_whitespace(instruction, rest, escape)


def _args_whitespace(instruction: Instruction, rest: str, escape: str) -> None:
    if rest:
        instruction.args = _split_whitespace(rest)


def _args_string(instruction: Instruction, rest: str, escape: str) -> None:
    if rest:
        instruction.args = [rest]


def _args_words(instruction: Instruction, rest: str, escape: str) -> None:
    instruction.args = parse_words(rest, escape)


def _args_name_value(instruction: Instruction, rest: str, escape: str) -> None:
    """ENV and LABEL: ``k=v ...`` or the legacy ``k v``, as key/value/separator."""
    words = parse_words(rest, escape)
    if not words:
        return
    if "=" not in words[0]:
        parts = _split_whitespace(rest, 2)
        if len(parts) < 2:
            raise BuildError(f"{instruction.keyword} must have two arguments")
        instruction.args = [parts[0], parts[1], ""]
        return
    args = []
    for word in words:
        if "=" not in word:
            raise BuildError(f"Syntax error - can't find = in {go_quote(word)}. "
                             "Must be of the form: name=value")
        key, value = word.split("=", 1)
        args += [key, value, "="]
    instruction.args = args


def _args_healthcheck(instruction: Instruction, rest: str, escape: str) -> None:
    sep = 0
    while sep < len(rest) and rest[sep] not in GO_SPACE:
        sep += 1
    following = sep
    while following < len(rest) and rest[following] in GO_SPACE:
        following += 1
    if sep == 0:
        return
    command = Instruction("HEALTHCHECK")
    _args_maybe_json(command, rest[following:], escape)
    instruction.args = [rest[:sep]] + command.args
    instruction.json = command.json


def _args_onbuild(instruction: Instruction, rest: str, escape: str) -> None:
    if rest:
        instruction.trigger = _instruction_from_line(rest, escape)


_ARGUMENT_RULES = {
    "ADD": _args_maybe_json_to_list,
    "ARG": _args_words,
    "CMD": _args_maybe_json,
    "COPY": _args_maybe_json_to_list,
    "ENTRYPOINT": _args_maybe_json,
    "ENV": _args_name_value,
    "EXPOSE": _args_whitespace,
    "FROM": _args_whitespace,
    "HEALTHCHECK": _args_healthcheck,
    "LABEL": _args_name_value,
    "MAINTAINER": _args_string,
    "ONBUILD": _args_onbuild,
    "RUN": _args_maybe_json,
    "SHELL": _args_maybe_json,
    "STOPSIGNAL": _args_string,
    "USER": _args_string,
    "VOLUME": _args_maybe_json_to_list,
    "WORKDIR": _args_string,
}

INSTRUCTIONS = frozenset(_ARGUMENT_RULES)


# --- heredocs ---------------------------------------------------------------

def heredocs_from_line(line: str) -> list[Heredoc]:
    """The heredocs a line opens (``<<EOF``, ``<<-EOF``, ``2<<EOF``, ...)."""
    lexer = Lexer("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lexer.process_words(line, {})
    except BuildError:
        return []
    heredocs = []
    for word in words:
        heredoc = parse_heredoc(word)
        if heredoc is not None:
            heredocs.append(heredoc)
    return heredocs


def parse_heredoc(word: str):
    """The `Heredoc` a word such as ``<<-"EOF"`` opens, or None."""
    digits = 0
    while digits < len(word) and "0" <= word[digits] <= "9":
        digits += 1
    if word[digits:digits + 2] != "<<":
        return None
    rest = word[digits + 2:]
    chomp = rest.startswith("-")
    if chomp:
        rest = rest[1:]
    rest = rest.lstrip(_RE2_SPACE)
    if not rest or "<" in rest:
        return None
    lexer = Lexer("\\", skip_unset_env=True)
    words = lexer.process_words(rest, {})
    if len(words) != 1:
        return None
    lexer.raw_quotes = True
    raw_words = lexer.process_words(rest, {})
    if len(raw_words) != 1:
        raise BuildError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name, raw_name = words[0], raw_words[0]
    expand = (name.count("'") + name.count('"')) == (raw_name.count("'") + raw_name.count('"'))
    return Heredoc(name, expand=expand, chomp=chomp, fd=int(word[:digits]) if digits else 0)
