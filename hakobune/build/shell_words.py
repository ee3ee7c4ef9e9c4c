"""Variable substitution in Dockerfile words, as BuildKit's shell lexer does it.

`expand(word, env)` gives one string: quotes removed, ``$VAR``/``${VAR}`` and
the modifiers ``${VAR:-word}``, ``${VAR-word}``, ``${VAR:+word}``,
``${VAR+word}``, ``${VAR:?msg}``, ``${VAR?msg}``, ``${VAR#pat}``,
``${VAR##pat}``, ``${VAR%pat}``, ``${VAR%%pat}``, ``${VAR/pat/rep}`` and
``${VAR//pat/rep}`` replaced, the escape character (``\\`` or the backtick)
escaping the next character, single quotes suppressing expansion, double quotes
allowing it.  `split_words_and_expand(text, env)` also splits into words at
unquoted whitespace (also whitespace that came out of an unquoted expansion).
An unset variable expands to nothing; ``$$``, ``$1`` and the other special
parameters are names that are never set.

Which instruction expands what (BuildKit's ``Expand`` methods):
`EXPANDED_INSTRUCTIONS`; RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and
MAINTAINER are left to the shell (or to nobody).  The lexer knows nothing of
instructions: the builder picks what to expand.

Errors are `BuildError`s whose cause reads as BuildKit's, e.g.
``failed to process "${X:?}": X: is not allowed to be unset``.
"""

from hakobune.build.errors import BuildError

# Instructions whose arguments the builder expands, and how: "word" = each
# argument on its own (quotes removed, no splitting), "words" = each argument
# split into several words (EXPOSE), "kv" = key and value of each pair (ENV,
# LABEL, ARG's name and default).  ONBUILD's trigger is expanded when it runs
# in the child build, by the trigger's own rule.
EXPANDED_INSTRUCTIONS = {
    "ADD": "word", "COPY": "word", "ENV": "kv", "EXPOSE": "words",
    "FROM": "word", "LABEL": "kv", "STOPSIGNAL": "word", "USER": "word",
    "VOLUME": "word", "WORKDIR": "word", "ARG": "kv",
}

# Go's unicode.IsSpace: the White_Space property (Python's str.isspace() also
# counts the information separators U+001C..U+001F, which Go does not).
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_HEREDOC_SPACE = frozenset("\t\r ")


class _ShellError(Exception):
    """A lexing failure, before it is wrapped with the word it happened in."""


class Lexer:
    """BuildKit's shell.Lex: its switches change what is kept literally.

    raw_quotes keeps quote characters in the result, raw_escapes keeps the
    escape characters, skip_process_quotes treats quotes as plain characters,
    skip_unset_env leaves references to unset variables as they were written.
    """

    __slots__ = ("escape", "raw_quotes", "raw_escapes", "skip_process_quotes", "skip_unset_env")

    def __init__(self, escape: str = "\\", *, raw_quotes: bool = False, raw_escapes: bool = False,
                 skip_process_quotes: bool = False, skip_unset_env: bool = False):
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env

    def process_word(self, word: str, env) -> str:
        """`word` with quotes removed and variables expanded, as one string."""
        return self._run(word, env)[0]

    def process_words(self, word: str, env) -> list[str]:
        """`word` expanded and split into words at unquoted whitespace."""
        return self._run(word, env)[1]

    def process_word_with_matches(self, word: str, env) -> tuple[str, set, set]:
        """The expansion, the names that were set and the names that were not."""
        scan = _Scan(self, word, env)
        result, _ = scan.run(word)
        return result, scan.matched, scan.unmatched

    def _run(self, word: str, env):
        return _Scan(self, word, env).run(word)


class _Words:
    """Collects the words of a processed text (BuildKit's wordsStruct)."""

    __slots__ = ("words", "buf", "in_word")

    def __init__(self):
        self.words: list[str] = []
        self.buf: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch in GO_SPACE:
            if self.in_word and any(self.buf):
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def finish(self) -> list[str]:
        if self.buf:
            word = "".join(self.buf)
            if word:
                self.words.append(word)
            self.buf = []
            self.in_word = False
        return self.words


class _Scan:
    """One pass of the lexer over one text."""

    __slots__ = ("lexer", "text", "pos", "env", "raw_escapes", "matched", "unmatched")

    def __init__(self, lexer: Lexer, text: str, env):
        self.lexer = lexer
        self.text = text
        self.pos = 0
        self.env = env if env is not None else {}
        self.raw_escapes = lexer.raw_escapes
        self.matched: set = set()
        self.unmatched: set = set()

    def run(self, source: str):
        try:
            return self.stop_on("", self.raw_escapes)
        except _ShellError as error:
            raise BuildError(f"failed to process {go_quote(source)}: {error}") from None

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return ""

    def stop_on(self, stop: str, raw_escapes: bool):
        """Process up to `stop` (consumed) or the end: (text, words)."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str):
        result: list[str] = []
        words = _Words()
        escape = self.lexer.escape
        quotes = "" if self.lexer.skip_process_quotes else "'\""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if stop and ch == stop:
                self.pos += 1
                return "".join(result), words.finish()
            if ch == "$":
                value = self.dollar()
                result.append(value)
                words.add_string(value)
            elif ch == "<":
                value = self.possible_heredoc()
                result.append(value)
                words.add_raw_string(value)
            elif ch in quotes:
                value = self.single_quoted() if ch == "'" else self.double_quoted()
                result.append(value)
                words.add_raw_string(value)
            else:
                self.pos += 1
                if ch == escape:
                    if self.raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    if self.pos >= len(text):
                        break
                    ch = text[self.pos]
                    self.pos += 1
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise _ShellError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def single_quoted(self) -> str:
        raw = self.lexer.raw_quotes
        opening = self.next()
        result = [opening] if raw else []
        while True:
            ch = self.next()
            if ch == "":
                raise _ShellError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if raw:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def double_quoted(self) -> str:
        raw = self.lexer.raw_quotes
        escape = self.lexer.escape
        opening = self.next()
        result = [opening] if raw else []
        while True:
            ch = self.peek()
            if ch == "":
                raise _ShellError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if raw:
                    result.append(ch)
                return "".join(result)
            if ch == "$":
                result.append(self.dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.raw_escapes:
                    result.append(ch)
                following = self.peek()
                if following == "":
                    continue
                if following in ('"', "$", escape):
                    ch = self.next()
            result.append(ch)

    def possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        start = self.pos
        while self.peek() in _HEREDOC_SPACE and self.peek():
            self.pos += 1
        return "<<" + self.text[start:self.pos]

    def name(self) -> str:
        text = self.text
        start = self.pos
        if self.pos < len(text):
            first = text[self.pos]
            if first.isdecimal():
                while self.pos < len(text) and text[self.pos].isdecimal():
                    self.pos += 1
                return text[start:self.pos]
            if first in _SPECIAL_PARAMS:
                self.pos += 1
                return first
        while self.pos < len(text):
            ch = text[self.pos]
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            self.pos += 1
        return text[start:self.pos]

    def lookup(self, name: str):
        value = self.env.get(name)
        if value is None:
            self.unmatched.add(name)
            return "", False
        self.matched.add(name)
        return value, True

    def dollar(self) -> str:
        self.next()
        skip_unset = self.lexer.skip_unset_env
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.lookup(name)
            if not found and skip_unset:
                return "$" + name
            return value
        self.next()
        following = self.peek()
        if following == "":
            raise _ShellError("syntax error: missing '}'")
        if following in "{}:":
            raise _ShellError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "":
            raise _ShellError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.lookup(name)
            if not found and skip_unset:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self.replace(name)
        modifier = ch
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if ch == "" or ch not in "+-?#%":
            if null_is_unset:
                self.stop_on_brace(False)
            raise _ShellError(f"unsupported modifier ({modifier}) in substitution")
        pattern_op = ch in "#%"
        if null_is_unset and pattern_op:
            raise _ShellError(f"unsupported modifier ({modifier}) in substitution")
        word = self.stop_on_brace(pattern_op)
        value, found = self.lookup(name)
        if skip_unset and not found:
            return "${" + name + modifier + word + "}"
        empty = not found or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if ch == "?":
            if not found:
                raise _ShellError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise _ShellError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        greedy = word[:1] == ch
        if greedy:
            word = word[1:]
        if ch == "%":
            return _trim_suffix(word, value, greedy)
        return _trim_prefix(word, value, greedy)

    def stop_on_brace(self, raw_escapes: bool) -> str:
        try:
            return self.stop_on("}", raw_escapes)[0]
        except _ShellError:
            if self.pos >= len(self.text):
                raise _ShellError("syntax error: missing '}'") from None
            raise

    def replace(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        try:
            pattern = self.stop_on("/", True)[0]
        except _ShellError:
            if self.pos >= len(self.text):
                raise _ShellError("syntax error: missing '/' in ${}") from None
            raise
        replacement = self.stop_on_brace(True)
        value, found = self.lookup(name)
        if self.lexer.skip_unset_env and not found:
            return "${%s/%s/%s}" % (name, pattern, replacement)
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _match: replacement, value)
        match = regex.search(value)
        if match is None:
            return value
        return value[:match.start()] + replacement + value[match.end():]


def _pattern_regex(pattern: str, greedy: bool, anchored: bool):
    """A shell pattern (``*``, ``?``, ``\\`` escapes) as a compiled regex."""
    import re

    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < len(pattern) else ""
            if following in ("}", "/"):
                continue
            i += 1
            if following not in ("*", "?", "\\"):
                shown = following or "EOF"
                raise _ShellError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{shown}'")
            out.append("\\" + following)
        elif ch in "[]{}.+()|^$":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy, anchored=True).search(value)
    return value[match.end():] if match else value


def _reverse_pattern(pattern: str) -> str:
    """The pattern reversed, each escape pair kept in order."""
    pieces = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i != len(pattern) - 1:
            pieces.append(pattern[i:i + 2])
            i += 2
        else:
            pieces.append(pattern[i])
            i += 1
    return "".join(reversed(pieces))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def go_quote(text: str) -> str:
    """Go's %q of a string, enough for error messages."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch < " " or ch == "\x7f":
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_DEFAULT_LEXERS: dict = {}


def _lexer(escape: str) -> Lexer:
    lexer = _DEFAULT_LEXERS.get(escape)
    if lexer is None:
        lexer = _DEFAULT_LEXERS[escape] = Lexer(escape)
    return lexer


def expand(word: str, env, escape: str = "\\") -> str:
    """`word` with its quotes removed and variables from `env` substituted."""
    return _lexer(escape).process_word(word, env)


def split_words_and_expand(text: str, env, escape: str = "\\") -> list[str]:
    """`text` expanded and split into words at unquoted whitespace."""
    return _lexer(escape).process_words(text, env)


def expand_instruction(instruction, env, escape: str = "\\", filename: str | None = None) -> list[str]:
    """The arguments of `instruction` with substitution applied where the
    Dockerfile reference says (`EXPANDED_INSTRUCTIONS`), unchanged elsewhere.

    ENV/LABEL keep their key/value/separator layout, key and value expanded;
    ARG expands the name and the default of each ``name[=default]``; EXPOSE
    splits each argument into words; COPY/ADD leave heredoc sources
    (``<<EOF``) alone.  FROM is expanded with the global args instead (see
    `stages`).  Errors carry the instruction's line."""
    rule = EXPANDED_INSTRUCTIONS.get(instruction.keyword)
    args = instruction.args
    try:
        if rule is None or instruction.keyword == "FROM":
            return list(args)
        if instruction.keyword == "ARG":
            return [_expand_arg(arg, env, escape) for arg in args]
        if rule == "kv":
            return [arg if index % 3 == 2 else expand(arg, env, escape) for index, arg in enumerate(args)]
        if rule == "words":
            return [word for arg in args for word in split_words_and_expand(arg, env, escape)]
        if instruction.keyword in ("COPY", "ADD") and not instruction.json:
            from hakobune.build.parser import parse_heredoc

            return [arg if parse_heredoc(arg) is not None else expand(arg, env, escape) for arg in args]
        return [expand(arg, env, escape) for arg in args]
    except BuildError as error:
        raise error.at(filename, instruction.start_line, instruction.end_line) from None


def _expand_arg(arg: str, env, escape: str) -> str:
    name, has_default, default = arg.partition("=")
    name = expand(name, env, escape)
    return name + "=" + expand(default, env, escape) if has_default else name
