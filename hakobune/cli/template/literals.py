"""Go literals in templates: quoted strings, raw strings, character constants
and numbers, read with Go's rules (strconv.Unquote, ParseInt with base 0,
ParseFloat) and its error messages.
"""

from hakobune.cli.template.gofmt import go_quote

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_HEX = "0123456789abcdefABCDEF"


class LiteralError(ValueError):
    pass


def _escape(text: str, pos: int, quote: str) -> tuple[int, bool, int]:
    """One escape sequence after the backslash at text[pos - 1]: the value,
    whether it is a raw byte (\\x, octal) rather than a rune, and the position
    after it."""
    if pos >= len(text):
        raise LiteralError("invalid syntax")
    char = text[pos]
    if char in _SIMPLE:
        return _SIMPLE[char], False, pos + 1
    if char in "'\"":
        if char != quote:
            raise LiteralError("invalid syntax")
        return ord(char), False, pos + 1
    if char in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[char]
        digits = text[pos + 1 : pos + 1 + size]
        if len(digits) != size or any(d not in _HEX for d in digits):
            raise LiteralError("invalid syntax")
        value = int(digits, 16)
        if char != "x" and (value > 0x10FFFF or 0xD800 <= value <= 0xDFFF):
            raise LiteralError("invalid syntax")
        return value, char == "x", pos + 1 + size
    if "0" <= char <= "7":
        digits = text[pos : pos + 3]
        if len(digits) != 3 or any(not "0" <= d <= "7" for d in digits) or int(digits, 8) > 255:
            raise LiteralError("invalid syntax")
        return int(digits, 8), True, pos + 3
    raise LiteralError("invalid syntax")


def unquote_string(quoted: str) -> str:
    """The value of a "..." or `...` literal (Go's strconv.Unquote)."""
    if quoted[0] == "`":
        return quoted[1:-1].replace("\r", "")
    body = quoted[1:-1]
    if "\\" not in body:
        return body
    out = bytearray()
    pos = 0
    while pos < len(body):
        char = body[pos]
        if char != "\\":
            out += char.encode("utf-8", "surrogatepass")
            pos += 1
            continue
        value, is_byte, pos = _escape(body, pos + 1, '"')
        out += bytes((value,)) if is_byte else chr(value).encode("utf-8")
    return out.decode("utf-8", "surrogateescape")


def unquote_char(quoted: str) -> int:
    """The rune value of a '...' character constant."""
    body = quoted[1:]
    if not body or body[0] == "'":
        raise LiteralError("invalid syntax")
    if body[0] == "\\":
        value, _, end = _escape(body, 1, "'")
    else:
        value, end = ord(body[0]), 1
    if body[end:] != "'":
        raise LiteralError("malformed character constant: " + quoted)
    return value


def _parse_int(text: str) -> int | None:
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if body[:1] in "+-" or body.endswith("_") or "__" in body:
        return None
    try:
        if body[:2].lower() in ("0x", "0o", "0b"):
            return sign * int(body, 0)
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body[1:].lstrip("_"), 8) if body[1:].lstrip("_") else 0
        return sign * int(body, 10)
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
    try:
        body = text.lstrip("+-")
        if body[:2].lower() == "0x":
            if "p" not in body.lower():
                return None  # a hex float needs its exponent
            value = float.fromhex(body.replace("_", ""))
            return -value if text.startswith("-") else value
        return float(text)
    except ValueError:
        return None


def parse_number(text: str) -> tuple[int | float, bool]:
    """A number constant's value as Go uses it where any type fits (an int,
    or a float when written with '.', 'e' or 'p'), and whether it can also
    be an int argument."""
    if text.startswith("'"):
        return unquote_char(text), True
    if text.endswith("i"):
        raise LiteralError(f"illegal number syntax: {go_quote(text)}")
    integer = _parse_int(text)
    if integer is not None:
        if -(1 << 63) <= integer < (1 << 64):
            return integer, True
        raise LiteralError(f"integer overflow: {go_quote(text)}")
    number = _parse_float(text)
    if number is None or number in (float("inf"), float("-inf")):
        raise LiteralError(f"illegal number syntax: {go_quote(text)}")
    if not any(char in text for char in ".eEpP"):
        raise LiteralError(f"integer overflow: {go_quote(text)}")
    is_int = number == number and abs(number) < 2**63 and number == int(number)
    return number, is_int
