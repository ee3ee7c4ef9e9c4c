"""Go's fmt.Sprintf, for the template function `printf`.

Supports the flags `+ - # 0 space`, widths and precisions (also `*` and
explicit argument indexes `%[n]d`), and the verbs docker users write:
%v %s %q %d %b %o %O %x %X %c %U %e %E %f %F %g %G %t %T %%.  Slices and
maps apply the verb to each element, as Go does.  Mistakes print the way Go
prints them: `%!d(string=abc)`, `%!s(MISSING)`, `%!(EXTRA int=1)`,
`%!(NOVERB)`, `%!d(BADINDEX)`, `%!(BADWIDTH)`, `%!(BADPREC)`.
"""

from hakobune.cli.template.gofmt import can_backquote, format_float, go_quote, sorted_keys, struct_fields
from hakobune.cli.template.values import MISSING, go_type_name

_FLAGS = "#0+- "


class Spec:
    """The flags, width and precision of one verb."""

    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "precision")

    def __init__(self):
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width = -1
        self.precision = -1

    def set_flag(self, flag: str) -> None:
        if flag == "#":
            self.sharp = True
        elif flag == "0":
            self.zero = not self.minus
        elif flag == "+":
            self.plus = True
        elif flag == "-":
            self.minus = True
            self.zero = False
        else:
            self.space = True

    def pad(self, text: str) -> str:
        missing = self.width - len(text)
        if missing <= 0:
            return text
        if self.minus:
            return text + " " * missing
        return ("0" if self.zero else " ") * missing + text


def _parse_number(text: str, pos: int) -> tuple[int, int]:
    """Digits at `pos`: their value (-1 when none) and the position after them."""
    start = pos
    while pos < len(text) and "0" <= text[pos] <= "9":
        pos += 1
    return (int(text[start:pos]) if pos > start else -1), pos


class _Formatter:
    def __init__(self, args: list):
        self.args = args
        self.arg_num = 0
        self.reordered = False
        self.good_arg_num = True
        self.out: list[str] = []

    def arg_index(self, text: str, pos: int) -> tuple[int, bool]:
        """An explicit `[n]` at pos: move to argument n; return the position
        after it and whether there was one."""
        if pos >= len(text) or text[pos] != "[":
            return pos, False
        self.reordered = True
        close = text.find("]", pos + 1)
        if close < 0:
            self.good_arg_num = False
            return pos + 1, False
        number, end = _parse_number(text, pos + 1)
        if end != close or number < 1:
            self.good_arg_num = False
            return close + 1, False
        if number - 1 >= len(self.args):
            self.good_arg_num = False
            return close + 1, True
        self.arg_num = number - 1
        return close + 1, True

    def int_arg(self) -> tuple[int, bool]:
        """The next argument as a `*` width or precision."""
        if self.arg_num >= len(self.args):
            return 0, False
        value = self.args[self.arg_num]
        self.arg_num += 1
        if isinstance(value, int) and not isinstance(value, bool) and -1_000_000 < value < 1_000_000:
            return value, True
        return 0, False

    def run(self, text: str) -> str:
        out = self.out
        pos = 0
        end = len(text)
        while pos < end:
            percent = text.find("%", pos)
            if percent < 0:
                out.append(text[pos:])
                break
            out.append(text[pos:percent])
            pos = self.directive(text, percent + 1)
        if not self.reordered and self.arg_num < len(self.args):
            extra = (_typed_value(arg) for arg in self.args[self.arg_num:])
            out.append("%!(EXTRA " + ", ".join(extra) + ")")
        return "".join(out)

    def directive(self, text: str, pos: int) -> int:
        """Format one %-directive whose flags start at pos; return the
        position after its verb."""
        spec = Spec()
        self.good_arg_num = True
        while pos < len(text) and text[pos] in _FLAGS:
            spec.set_flag(text[pos])
            pos += 1
        pos, after_index = self.arg_index(text, pos)
        pos, after_index = self.width(text, pos, spec, after_index)
        if pos < len(text) and text[pos] == ".":
            pos, after_index = self.precision(text, pos + 1, spec, after_index)
        if not after_index:
            pos, after_index = self.arg_index(text, pos)
        if pos >= len(text):
            self.out.append("%!(NOVERB)")
            return pos
        verb = text[pos]
        self.emit(verb, spec)
        return pos + 1

    def width(self, text: str, pos: int, spec: Spec, after_index: bool) -> tuple[int, bool]:
        if pos < len(text) and text[pos] == "*":
            width, ok = self.int_arg()
            if not ok:
                self.out.append("%!(BADWIDTH)")
            elif width < 0:
                spec.minus, spec.zero, width = True, False, -width
            spec.width = width if ok else -1
            return pos + 1, False
        spec.width, new_pos = _parse_number(text, pos)
        if after_index and new_pos > pos:
            self.good_arg_num = False
        return new_pos, after_index

    def precision(self, text: str, pos: int, spec: Spec, after_index: bool) -> tuple[int, bool]:
        if after_index:
            self.good_arg_num = False
        pos, after_index = self.arg_index(text, pos)
        if pos < len(text) and text[pos] == "*":
            precision, ok = self.int_arg()
            spec.precision = precision if ok and precision >= 0 else -1
            if not ok or precision < 0:
                self.out.append("%!(BADPREC)")
            return pos + 1, False
        precision, pos = _parse_number(text, pos)
        spec.precision = max(precision, 0)
        return pos, after_index

    def emit(self, verb: str, spec: Spec) -> None:
        if verb == "%":
            self.out.append("%")
        elif not self.good_arg_num:
            self.out.append(f"%!{verb}(BADINDEX)")
        elif self.arg_num >= len(self.args):
            self.out.append(f"%!{verb}(MISSING)")
        else:
            self.out.append(format_arg(self.args[self.arg_num], verb, spec))
            self.arg_num += 1


def _typed_value(arg) -> str:
    if arg is None or arg is MISSING:
        return "<nil>"
    return go_type_name(arg) + "=" + format_arg(arg, "v", Spec())


def bad_verb(arg, verb: str, spec: Spec) -> str:
    if arg is None or arg is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(arg)}={format_arg(arg, 'v', spec)})"


def format_arg(arg, verb: str, spec: Spec) -> str:
    """One argument formatted by one verb."""
    if verb == "T":
        return spec.pad(go_type_name(arg))
    if arg is None or arg is MISSING:
        return spec.pad("<nil>") if verb == "v" else bad_verb(arg, verb, spec)
    if isinstance(arg, bool):
        return spec.pad("true" if arg else "false") if verb in "tv" else bad_verb(arg, verb, spec)
    if isinstance(arg, int):
        return format_int(arg, verb, spec)
    if isinstance(arg, float):
        return format_float_arg(arg, verb, spec)
    if isinstance(arg, str):
        return format_string(arg, verb, spec)
    if isinstance(arg, dict):
        items = (format_element(key, verb, spec) + ":" + format_element(arg[key], verb, spec) for key in sorted_keys(arg))
        return "map[" + " ".join(items) + "]"
    if isinstance(arg, (list, tuple)):
        return "[" + " ".join(format_element(item, verb, spec) for item in arg) + "]"
    return format_object(arg, verb, spec)


def format_element(value, verb: str, spec: Spec) -> str:
    """An element of a slice, map or struct: a nil one prints `<nil>`
    whatever the verb."""
    if value is None:
        return spec.pad("<nil>")
    return format_arg(value, verb, spec)


def format_object(arg, verb: str, spec: Spec) -> str:
    if type(arg).__str__ is not object.__str__ and verb in "vsxXq":
        return format_string(str(arg), verb, spec)
    return "{" + " ".join(format_element(field, verb, spec) for field in struct_fields(arg)) + "}"


_INT_BASES = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}


def format_int(value: int, verb: str, spec: Spec) -> str:
    if verb == "c":
        return spec.pad(_rune(value))
    if verb == "q":
        return spec.pad(go_quote(_rune(value), quote="'", ascii_only=spec.plus))
    if verb == "U":
        return format_unicode(value, spec)
    base = _INT_BASES.get(verb)
    if base is None:
        return bad_verb(value, verb, spec)
    return format_integer(value, base, verb, spec)


def _rune(value: int) -> str:
    return chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else "\ufffd"


def format_integer(value: int, base: int, verb: str, spec: Spec) -> str:
    negative = value < 0
    magnitude = -value if negative else value
    if spec.precision == 0 and magnitude == 0:
        return " " * max(spec.width, 0)
    digits = {10: "d", 2: "b", 8: "o", 16: "x"}[base]
    text = format(magnitude, "X" if verb == "X" else digits)
    minimum = spec.precision
    if minimum < 0 and spec.zero and spec.width > 0:
        minimum = spec.width - (1 if negative or spec.plus or spec.space else 0)
    text = text.rjust(minimum, "0")
    text = _integer_prefix(text, base, verb, spec) + text
    sign = "-" if negative else "+" if spec.plus else " " if spec.space else ""
    return _pad_spaces(sign + text, spec)


def _integer_prefix(digits: str, base: int, verb: str, spec: Spec) -> str:
    if verb == "O":
        return "0o"
    if not spec.sharp:
        return ""
    if base == 2:
        return "0b"
    if base == 8:
        return "" if digits.startswith("0") else "0"
    if base == 16:
        return "0X" if verb == "X" else "0x"
    return ""


def _pad_spaces(text: str, spec: Spec) -> str:
    missing = spec.width - len(text)
    if missing <= 0:
        return text
    return text + " " * missing if spec.minus else " " * missing + text


def format_unicode(value: int, spec: Spec) -> str:
    if value < 0:
        value += 1 << 64  # Go formats the rune as a uint64
    text = "U+" + format(value, "X").rjust(max(spec.precision, 4), "0")
    if spec.sharp and 0 <= value <= 0x10FFFF and chr(value).isprintable():
        text += " '" + chr(value) + "'"
    return _pad_spaces(text, spec)


def format_float_arg(value: float, verb: str, spec: Spec) -> str:
    if verb == "v":
        verb = "g"
    if verb in "xX":
        return _pad_spaces(_hex_float(value, verb == "X"), spec)
    if verb not in "eEfFgG":
        return bad_verb(value, verb, spec)
    precision = spec.precision
    if precision < 0 and verb in "eEfF":
        precision = 6
    text = format_float(value, verb, precision)
    if text[0] != "-" and (spec.plus or spec.space):
        text = ("+" if spec.plus else " ") + text
    finite = text[-1] not in "fN"  # not Inf or NaN
    if spec.zero and finite and not spec.minus and spec.width > len(text):
        signed = text[0] in "+- "
        sign, digits = (text[0], text[1:]) if signed else ("", text)
        return sign + digits.rjust(spec.width - len(sign), "0")
    return _pad_spaces(text, spec)


def _hex_float(value: float, upper: bool) -> str:
    """strconv's 'x' format with the shortest mantissa: 0x1.cp+01."""
    if value != value or value in (float("inf"), float("-inf")):
        return format_float(value)
    text = value.hex()  # e.g. -0x1.c000000000000p+1
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exponent = text.lstrip("-")[2:].partition("p")
    mantissa = mantissa.rstrip("0").rstrip(".")
    exponent_value = int(exponent)
    text = f"{sign}0x{mantissa}p{'-' if exponent_value < 0 else '+'}{abs(exponent_value):02d}"
    return text.upper() if upper else text


def format_string(value: str, verb: str, spec: Spec) -> str:
    if verb in "vs":
        if spec.precision >= 0:
            value = value[: spec.precision]
        return spec.pad(value)
    if verb == "q":
        if spec.precision >= 0:
            value = value[: spec.precision]
        if spec.sharp and can_backquote(value):
            return spec.pad("`" + value + "`")
        return spec.pad(go_quote(value, ascii_only=spec.plus))
    if verb in "xX":
        return spec.pad(_hex_bytes(value, verb, spec))
    return bad_verb(value, verb, spec)


def _hex_bytes(value: str, verb: str, spec: Spec) -> str:
    data = value.encode("utf-8", "surrogateescape")
    if spec.precision >= 0:
        data = data[: spec.precision]
    digits = "%02X" if verb == "X" else "%02x"
    prefix = ("0X" if verb == "X" else "0x") if spec.sharp else ""
    if spec.space:
        return " ".join(prefix + digits % byte for byte in data)
    return (prefix if data else "") + "".join(digits % byte for byte in data)


def sprintf(text: str, args: list) -> str:
    """fmt.Sprintf(text, args...)."""
    return _Formatter(args).run(text)
