"""Go's default formatting of values (fmt's %v) and Go-style quoting.

Templates print a value as Go's fmt.Print would: maps as `map[k:v ...]` with
sorted keys, slices as `[a b c]`, nil as `<nil>`, floats in strconv's
shortest 'g' form (`2.5`, `1e+06`).  Python objects print their `__str__`
when their class defines one (Go's Stringer), else like a Go struct:
`{field1 field2}`.
"""

from hakobune.cli.template.values import MISSING

_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _escape_rune(char: str) -> str:
    escape = _SIMPLE_ESCAPES.get(char)
    if escape:
        return escape
    code = ord(char)
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def go_quote(text: str, quote: str = '"', ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteToASCII, or QuoteRune's quoting with "'")."""
    out = [quote]
    for char in text:
        if char == quote or char == "\\":
            out.append("\\" + char)
        elif " " <= char < "\x7f" or (char > "\x7f" and not ascii_only and char.isprintable()):
            out.append(char)
        else:
            out.append(_escape_rune(char))
    out.append(quote)
    return "".join(out)


def can_backquote(text: str) -> bool:
    """strconv.CanBackquote: no backquote and no control character but tab."""
    return all(char == "\t" or (char >= " " and char not in "`\x7f\ufeff") for char in text)


def shortest_digits(number: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as `number` (> 0), and the
    position of the decimal point: number == 0.DIGITS x 10**point."""
    mantissa, _, exponent = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0") or "0", point


def _exponent_form(digits: str, point: int, upper: bool) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = point - 1 if digits != "0" else 0
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa}{'E' if upper else 'e'}{sign}{abs(exponent):02d}"


def _fixed_form(digits: str, point: int) -> str:
    if digits == "0":
        return "0"
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def format_float(number: float, verb: str = "g", precision: int = -1) -> str:
    """strconv.FormatFloat(number, verb, precision, 64) for verbs e E f F g G;
    precision -1 means the shortest form that reads back exactly."""
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    negative = number < 0 or (number == 0 and str(number).startswith("-"))
    if precision >= 0:
        text = format(abs(number), f".{precision}{'f' if verb == 'F' else verb}")
    else:
        text = _shortest_form(abs(number), verb)
    return "-" + text if negative else text


def _shortest_form(number: float, verb: str) -> str:
    digits, point = shortest_digits(number) if number else ("0", 1)
    if verb in "eE":
        return _exponent_form(digits, point, verb == "E")
    if verb in "fF":
        return _fixed_form(digits, point)
    exponent = point - 1 if number else 0
    if exponent < -4 or exponent >= 6:
        return _exponent_form(digits, point, verb == "G")
    return _fixed_form(digits, point)


def sorted_keys(mapping: dict) -> list:
    """Map keys in the order Go's fmt and range use: sorted."""
    try:
        return sorted(mapping)
    except TypeError:
        return sorted(mapping, key=lambda key: (type(key).__name__, str(key)))


def format_value(value) -> str:
    """fmt's %v."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None or value is MISSING:
        return "<nil>"
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return format_float(value)
    if isinstance(value, dict):
        items = (format_value(key) + ":" + format_value(value[key]) for key in sorted_keys(value))
        return "map[" + " ".join(items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(format_value(item) for item in value) + "]"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return format_float(float(value))
    return format_object(value)


def struct_fields(obj) -> list:
    """The values of a Python object's public fields, in definition order."""
    fields = getattr(type(obj), "__dataclass_fields__", None)
    if fields is not None:
        return [getattr(obj, name) for name in fields]
    try:
        attributes = vars(obj)
    except TypeError:
        return []
    return [value for name, value in attributes.items() if not name.startswith("_")]


def format_object(obj) -> str:
    if type(obj).__str__ is not object.__str__:
        return str(obj)
    return "{" + " ".join(format_value(field) for field in struct_fields(obj)) + "}"


def sprint(args) -> str:
    """fmt.Sprint: operands separated by a space when neither is a string."""
    parts = []
    previous_is_string = False
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index and not is_string and not previous_is_string:
            parts.append(" ")
        parts.append(format_value(arg))
        previous_is_string = is_string
    return "".join(parts)


def sprintln(args) -> str:
    """fmt.Sprintln: operands always separated by spaces, then a newline."""
    return " ".join(format_value(arg) for arg in args) + "\n"
