"""Lexer for Go's text/template syntax with the `{{` `}}` delimiters.

`tokenize` turns the template text into a list of Tokens.  It follows Go's
lexer item for item, because the parser's error messages name the items
("unexpected "}" in operand"): text, delimiters (with the `{{- ` and ` -}}`
trim markers, which eat the white space next to them), comments `{{/* */}}`
(dropped), and inside actions fields, variables, identifiers, keywords,
strings, raw strings, character constants, numbers, `(`, `)`, `|`, `=`, `:=`,
spaces and any other printable ASCII character.  A lexical error does not
raise: it ends the list with an ERROR token carrying Go's message, so that the
parser reports whatever error Go would reach first.
"""

from hakobune.cli.template.gofmt import go_quote

TEXT = "text"
LEFT_DELIM = "left delim"
RIGHT_DELIM = "right delim"
SPACE = "space"
FIELD = "field"
VARIABLE = "variable"
IDENTIFIER = "identifier"
STRING = "string"
RAW_STRING = "raw string"
CHAR_CONSTANT = "char constant"
NUMBER = "number"
BOOL = "bool"
NIL = "nil"
DOT = "dot"
PIPE = "pipe"
LEFT_PAREN = "left paren"
RIGHT_PAREN = "right paren"
ASSIGN = "assign"
DECLARE = "declare"
CHAR = "char"
EOF = "EOF"
ERROR = "error"

# Keywords are their own kinds, named by the keyword itself.
KEYWORDS = frozenset(("block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"))

SPACE_CHARS = " \t\r\n"
LEFT = "{{"
RIGHT = "}}"
_TERMINATORS = frozenset(SPACE_CHARS + ".,|:)(")
_DECIMAL_DIGITS = "0123456789_"
_HEX_DIGITS = "0123456789abcdefABCDEF_"


class Token:
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind: str, value: str, pos: int):
        self.kind = kind
        self.value = value
        self.pos = pos

    def __str__(self) -> str:
        """How Go's parser names an item in its messages."""
        if self.kind == EOF:
            return "EOF"
        if self.kind == ERROR:
            return self.value
        if self.kind in KEYWORDS or self.kind == DOT or self.kind == NIL:
            return "<" + self.value + ">"
        if len(self.value) > 10:
            return go_quote(self.value[:10]) + "..."
        return go_quote(self.value)

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.pos})"


def is_alphanumeric(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


def describe_rune(char: str) -> str:
    """Go's %#U: `U+007D '}'`."""
    text = f"U+{ord(char):04X}"
    return text + f" '{char}'" if char.isprintable() else text


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def emit(self, kind: str, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start))

    def fail(self, message: str, pos: int) -> None:
        self.tokens.append(Token(ERROR, message, pos))

    def run(self) -> list[Token]:
        text = self.text
        pos = 0
        while True:
            delim = text.find(LEFT, pos)
            if delim < 0:
                if pos < len(text):
                    self.emit(TEXT, pos, len(text))
                self.tokens.append(Token(EOF, "", len(text)))
                return self.tokens
            trim = _has_left_trim_marker(text, delim + 2)
            end = delim
            if trim:
                while end > pos and text[end - 1] in SPACE_CHARS:
                    end -= 1
            if end > pos:
                self.emit(TEXT, pos, end)
            pos = self.lex_action(delim, delim + 2 + (2 if trim else 0))
            if pos < 0:
                return self.tokens

    def lex_action(self, delim: int, pos: int) -> int:
        """Lex one action starting after its left delimiter; return where the
        text after it starts, or -1 after an error."""
        if self.text.startswith("/*", pos):
            return self.lex_comment(pos)
        self.tokens.append(Token(LEFT_DELIM, LEFT, delim))
        self.paren_depth = 0
        while True:
            at_delim, trim = self.at_right_delim(pos)
            if at_delim:
                if self.paren_depth:
                    self.fail("unclosed left paren", pos)
                    return -1
                return self.lex_right_delim(pos, trim)
            pos = self.lex_inside_action(pos)
            if pos < 0:
                return -1

    def at_right_delim(self, pos: int) -> tuple[bool, bool]:
        text = self.text
        if pos < len(text) and text[pos] in SPACE_CHARS and text.startswith("-" + RIGHT, pos + 1):
            return True, True
        return text.startswith(RIGHT, pos), False

    def lex_right_delim(self, pos: int, trim: bool) -> int:
        if trim:
            pos += 2
        self.tokens.append(Token(RIGHT_DELIM, RIGHT, pos))
        pos += 2
        if trim:
            while pos < len(self.text) and self.text[pos] in SPACE_CHARS:
                pos += 1
        return pos

    def lex_comment(self, pos: int) -> int:
        end = self.text.find("*/", pos + 2)
        if end < 0:
            self.fail("unclosed comment", pos)
            return -1
        at_delim, trim = self.at_right_delim(end + 2)
        if not at_delim:
            self.fail("comment ends before closing delimiter", end + 2)
            return -1
        pos = end + 2 + (4 if trim else 2)
        if trim:
            while pos < len(self.text) and self.text[pos] in SPACE_CHARS:
                pos += 1
        return pos

    def lex_inside_action(self, pos: int) -> int:
        """Lex one item inside an action; return the position after it, or -1."""
        text = self.text
        if pos >= len(text):
            self.fail("unclosed action", pos)
            return -1
        char = text[pos]
        if char in SPACE_CHARS:
            return self.lex_space(pos)
        if char == "=":
            self.emit(ASSIGN, pos, pos + 1)
            return pos + 1
        if char == ":":
            if not text.startswith(":=", pos):
                self.fail("expected :=", pos)
                return -1
            self.emit(DECLARE, pos, pos + 2)
            return pos + 2
        if char == "|":
            self.emit(PIPE, pos, pos + 1)
            return pos + 1
        if char == '"':
            return self.lex_quote(pos)
        if char == "`":
            return self.lex_raw_quote(pos)
        if char == "$":
            return self.lex_field_or_variable(pos, VARIABLE)
        if char == "'":
            return self.lex_char(pos)
        if char == "." and pos + 1 < len(text) and not "0" <= text[pos + 1] <= "9":
            return self.lex_field_or_variable(pos, FIELD)
        if char in "+-." or "0" <= char <= "9":
            return self.lex_number(pos)
        if is_alphanumeric(char):
            return self.lex_identifier(pos)
        return self.lex_punctuation(pos)

    def lex_punctuation(self, pos: int) -> int:
        char = self.text[pos]
        if char == "(":
            self.paren_depth += 1
            self.emit(LEFT_PAREN, pos, pos + 1)
        elif char == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.fail("unexpected right paren", pos)
                return -1
            self.emit(RIGHT_PAREN, pos, pos + 1)
        elif " " <= char <= "~":
            self.emit(CHAR, pos, pos + 1)
        else:
            self.fail("unrecognized character in action: " + describe_rune(char), pos)
            return -1
        return pos + 1

    def lex_space(self, pos: int) -> int:
        text = self.text
        start = pos
        while pos < len(text) and text[pos] in SPACE_CHARS:
            pos += 1
        # The last space before "-}}" belongs to the trimming right delimiter.
        if text.startswith("-" + RIGHT, pos):
            pos -= 1
            if pos == start:
                return pos
        self.emit(SPACE, start, pos)
        return pos

    def at_terminator(self, pos: int) -> bool:
        text = self.text
        if pos >= len(text):
            return True
        return text[pos] in _TERMINATORS or text.startswith(RIGHT, pos)

    def lex_field_or_variable(self, pos: int, kind: str) -> int:
        start = pos
        pos += 1
        if self.at_terminator(pos):
            self.emit(VARIABLE if kind == VARIABLE else DOT, start, pos)
            return pos
        text = self.text
        while pos < len(text) and is_alphanumeric(text[pos]):
            pos += 1
        if not self.at_terminator(pos):
            self.fail("bad character " + describe_rune(text[pos]), pos)
            return -1
        self.emit(kind, start, pos)
        return pos

    def lex_identifier(self, pos: int) -> int:
        text = self.text
        start = pos
        while pos < len(text) and is_alphanumeric(text[pos]):
            pos += 1
        if not self.at_terminator(pos):
            self.fail("bad character " + describe_rune(text[pos]), pos)
            return -1
        word = text[start:pos]
        if word in KEYWORDS:
            kind = word
        elif word in ("true", "false"):
            kind = BOOL
        elif word == "nil":
            kind = NIL
        else:
            kind = IDENTIFIER
        self.emit(kind, start, pos)
        return pos

    def lex_quote(self, pos: int) -> int:
        return self.lex_quoted(pos, '"', STRING, "unterminated quoted string")

    def lex_char(self, pos: int) -> int:
        return self.lex_quoted(pos, "'", CHAR_CONSTANT, "unterminated character constant")

    def lex_quoted(self, pos: int, quote: str, kind: str, unterminated: str) -> int:
        text = self.text
        start = pos
        pos += 1
        while True:
            if pos >= len(text) or text[pos] == "\n":
                self.fail(unterminated, start)
                return -1
            char = text[pos]
            if char == "\\":
                pos += 1
                if pos >= len(text) or text[pos] == "\n":
                    self.fail(unterminated, start)
                    return -1
            elif char == quote:
                self.emit(kind, start, pos + 1)
                return pos + 1
            pos += 1

    def lex_raw_quote(self, pos: int) -> int:
        end = self.text.find("`", pos + 1)
        if end < 0:
            self.fail("unterminated raw quoted string", pos)
            return -1
        self.emit(RAW_STRING, pos, end + 1)
        return end + 1

    def lex_number(self, pos: int) -> int:
        start = pos
        ok, pos = self.scan_number(pos)
        if ok and pos < len(self.text) and self.text[pos] in "+-":
            # A complex constant such as 1+2i.
            ok, pos = self.scan_number(pos)
            ok = ok and self.text[pos - 1] == "i"
        if not ok:
            self.fail("bad number syntax: " + go_quote(self.text[start:pos]), start)
            return -1
        self.emit(NUMBER, start, pos)
        return pos

    def scan_number(self, pos: int) -> tuple[bool, int]:
        text = self.text

        def accept(pos: int, chars: str) -> int:
            return pos + 1 if pos < len(text) and text[pos] in chars else pos

        def accept_run(pos: int, chars: str) -> int:
            while pos < len(text) and text[pos] in chars:
                pos += 1
            return pos

        pos = accept(pos, "+-")
        digits = _DECIMAL_DIGITS
        if accept(pos, "0") > pos:
            pos += 1
            for prefix, prefixed_digits in (("xX", _HEX_DIGITS), ("oO", "01234567_"), ("bB", "01_")):
                if accept(pos, prefix) > pos:
                    pos += 1
                    digits = prefixed_digits
                    break
        pos = accept_run(pos, digits)
        if accept(pos, ".") > pos:
            pos = accept_run(pos + 1, digits)
        if digits is _DECIMAL_DIGITS and accept(pos, "eE") > pos:
            pos = accept_run(accept(pos + 1, "+-"), "0123456789_")
        if digits is _HEX_DIGITS and accept(pos, "pP") > pos:
            pos = accept_run(accept(pos + 1, "+-"), "0123456789_")
        pos = accept(pos, "i")
        if pos < len(text) and is_alphanumeric(text[pos]):
            return False, pos + 1
        return True, pos


def _has_left_trim_marker(text: str, pos: int) -> bool:
    return text.startswith("-", pos) and pos + 1 < len(text) and text[pos + 1] in SPACE_CHARS


def tokenize(text: str) -> list[Token]:
    """The template's tokens, ending with EOF, or with ERROR at the first
    lexical error."""
    return _Lexer(text).run()
