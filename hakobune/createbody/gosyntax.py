"""Go's spellings, as the docker CLI accepts and reports them.

The docker CLI is written in Go; its flags are read with Go's `strconv` and
`time.ParseDuration`, and its error messages quote values with Go's `%q`.
This module reproduces that observable behaviour (accepted syntax, values,
error texts) in plain Python, without `re`:

- `quote` / `quote_char`: Go's `%q` for a string and for one byte of a
  shorthand bundle;
- `parse_bool`, `parse_int`, `parse_uint`, `parse_float`: `strconv`'s,
  with its `strconv.ParseInt: parsing "x": invalid syntax` messages;
- `parse_duration`, `format_duration`: `time.ParseDuration` and
  `time.Duration.String`, in nanoseconds.

Every parse failure raises `GoSyntaxError`, a ValueError whose text is the
exact message Go would give.
"""

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


class GoSyntaxError(ValueError):
    """A value Go would refuse; str() is Go's message."""


# ---------------------------------------------------------------- quoting

_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def _quote_rune(ch: str, quote: str) -> str:
    o = ord(ch)
    if ch == quote or ch == "\\":
        return "\\" + ch
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return "\\x%02x" % (o - 0xDC00)
    if ch.isprintable():
        return ch
    if o in _ESCAPES:
        return _ESCAPES[o]
    if o < 0x20 or o == 0x7F:
        return "\\x%02x" % o
    if 0xD800 <= o <= 0xDFFF:  # other lone surrogates: Go sees invalid UTF-8
        return "\\ufffd"
    if o < 0x10000:
        return "\\u%04x" % o
    return "\\U%08x" % o


def quote(s: str) -> str:
    """Go's strconv.Quote (fmt's %q for a string)."""
    return '"' + "".join(_quote_rune(c, '"') for c in s) + '"'


def quote_char(s: str) -> str:
    """Go's %q of the first *byte* of s, as pflag reports a bad shorthand.

    pflag walks a bundle like `-é` byte by byte, so a non-ASCII letter shows
    as the rune of its first UTF-8 byte: `'Ã'` for `é`.
    """
    o = ord(s[0])
    if o >= 0x80:
        if 0xDC80 <= o <= 0xDCFF:
            o -= 0xDC00
        else:
            o = s[0].encode("utf-8", "surrogatepass")[0]
    return "'" + _quote_rune(chr(o), "'") + "'"


def time_quote(s: str) -> str:
    """The time package's own quoting: bytes outside ' '..'~' as \\xNN."""
    out = ['"']
    for b in s.encode("utf-8", "surrogateescape"):
        if b < 0x20 or b > 0x7E:
            out.append("\\x%02x" % b)
        else:
            if b == 0x22 or b == 0x5C:
                out.append("\\")
            out.append(chr(b))
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------- strconv

def _num_error(func: str, s: str, what: str) -> GoSyntaxError:
    return GoSyntaxError(f"strconv.{func}: parsing {quote(s)}: {what}")


_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_bool(s: str) -> bool:
    """strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise _num_error("ParseBool", s, "invalid syntax")


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _digits_value(body: str, base: int) -> int | None:
    """Value of body's digits in base, or None; body has no sign or prefix."""
    if not body:
        return None
    n = 0
    for c in body.lower():
        d = _DIGITS.find(c)
        if d < 0 or d >= base:
            return None
        n = n * base + d
    return n


def underscores_ok(body: str, prefixed: bool) -> bool:
    """Go's rule: an underscore only between digits, or after a base prefix."""
    if "_" not in body:
        return True
    parts = body.split("_")
    if parts[-1] == "" or any(p == "" for p in parts[1:-1]):
        return False
    return parts[0] != "" or prefixed


def _parse_unsigned(s: str, base: int, func: str, orig: str) -> int:
    """Magnitude of an unsigned literal, for ParseInt/ParseUint."""
    prefixed = False
    body = s
    if base == 0:
        base = 10
        if len(s) >= 1 and s[0] == "0":
            p = s[1:2].lower()
            if p == "x":
                base, body, prefixed = 16, s[2:], True
            elif p == "o":
                base, body, prefixed = 8, s[2:], True
            elif p == "b":
                base, body, prefixed = 2, s[2:], True
            elif len(s) > 1:
                base, body, prefixed = 8, s[1:], True
        if not underscores_ok(body, prefixed):
            raise _num_error(func, orig, "invalid syntax")
        body = body.replace("_", "")
    n = _digits_value(body, base)
    if n is None:
        raise _num_error(func, orig, "invalid syntax")
    return n


def parse_int(s: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseInt(s, base, bits); base 0 reads 0x, 0o, 0b, 0 and `_`."""
    if not s:
        raise _num_error("ParseInt", s, "invalid syntax")
    neg = s[0] == "-"
    body = s[1:] if s[0] in "+-" else s
    if not body:
        raise _num_error("ParseInt", s, "invalid syntax")
    n = _parse_unsigned(body, base, "ParseInt", s)
    limit = 1 << (bits - 1)
    if (neg and n > limit) or (not neg and n >= limit):
        raise _num_error("ParseInt", s, "value out of range")
    return -n if neg else n


def parse_uint(s: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseUint(s, base, bits): no sign accepted."""
    if not s or s[0] in "+-":
        raise _num_error("ParseUint", s, "invalid syntax")
    n = _parse_unsigned(s, base, "ParseUint", s)
    if n >= 1 << bits:
        raise _num_error("ParseUint", s, "value out of range")
    return n


def _float_syntax_ok(s: str) -> bool:
    """Go's float literal grammar (decimal or hex with p exponent), no sign."""
    low = s.lower()
    if low in ("inf", "infinity"):
        return True
    if low[:2] == "0x":
        mant, p, exp = low[2:].partition("p")
        if not p:
            return False
        prefixed = True
        digits = "0123456789abcdef"
    else:
        mant, e, exp = low.partition("e")
        if not e:
            exp = None
        prefixed = False
        digits = "0123456789"
    whole, dot, frac = mant.partition(".")
    if not (whole.replace("_", "") or frac.replace("_", "")):
        return False
    for part, first in ((whole, True), (frac, False)):
        if part.strip(digits + "_"):
            return False
        if part and not underscores_ok(part, prefixed and first):
            return False
    if exp is not None:
        if exp[:1] in ("+", "-"):
            exp = exp[1:]
        if not exp or exp.strip("0123456789_") or not underscores_ok(exp, False):
            return False
    return True


def parse_float(s: str) -> float:
    """strconv.ParseFloat(s, 64)."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if s.lower() in ("nan",):
        return float("nan")
    if not body or not _float_syntax_ok(body):
        raise _num_error("ParseFloat", s, "invalid syntax")
    text = s.replace("_", "")
    try:
        v = float.fromhex(text) if body[:2].lower() == "0x" else float(text)
    except OverflowError:
        v = float("inf")
    if v in (float("inf"), float("-inf")) and "inf" not in s.lower():
        raise _num_error("ParseFloat", s, "value out of range")
    return v


def float_to_int64(f: float) -> int:
    """Go's int64(f) on amd64: out of range (or NaN) gives the minimum int64."""
    if f != f or not (-9.223372036854775808e18 <= f < 9.223372036854775808e18):
        return INT64_MIN
    return int(f)


# ---------------------------------------------------------------- durations

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}


def parse_duration(s: str) -> int:
    """time.ParseDuration: "1h2m3.5s", "-1.5ms", "0"; nanoseconds out."""
    orig = s
    invalid = GoSyntaxError("time: invalid duration " + time_quote(orig))
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        v = 0
        while i < len(s) and "0" <= s[i] <= "9":
            v = v * 10 + ord(s[i]) - 48
            if v > 1 << 63:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        f, scale, post = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if f > INT64_MAX // 10:
                        overflow = True
                    else:
                        f = f * 10 + ord(s[i]) - 48
                        scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise GoSyntaxError("time: missing unit in duration " + time_quote(orig))
        u = s[:i]
        s = s[i:]
        unit = _UNITS.get(u)
        if unit is None:
            raise GoSyntaxError(
                "time: unknown unit " + time_quote(u) + " in duration " + time_quote(orig))
        if v > (1 << 63) // unit:
            raise invalid
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise invalid
        total += v
        if total > 1 << 63:
            raise invalid
    if neg:
        return -total
    if total > INT64_MAX:
        raise invalid
    return total


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Digits after the point of v / 10**prec, trailing zeros dropped."""
    digits = ""
    printed = False
    for _ in range(prec):
        d = v % 10
        printed = printed or d != 0
        if printed:
            digits = str(d) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(ns: int) -> str:
    """time.Duration.String: "0s", "1.5ms", "1m30s", "2h0m0s"."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u < MICROSECOND:
            out = f"{u}ns"
        elif u < MILLISECOND:
            frac, whole = _frac(u, 3)
            out = f"{whole}{frac}\u00b5s"
        else:
            frac, whole = _frac(u, 6)
            out = f"{whole}{frac}ms"
    else:
        frac, secs = _frac(u, 9)
        out = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins:
            out = f"{mins % 60}m" + out
            hours = mins // 60
            if hours:
                out = f"{hours}h" + out
    return "-" + out if neg else out
