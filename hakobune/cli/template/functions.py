"""The functions templates can call: Go's builtins and docker's additions.

Each `Function` declares its parameters the way the Go function's signature
does, because Go checks arguments against them before the call, with
messages users see (`expected string; found 1`, `wrong type for value;
expected []string; got []interface {}`): ANY is `interface{}` (a missing
value arrives as None), VALUE is the builtins' `reflect.Value` (a missing
value arrives as MISSING), STR, INT and STRLIST are `string`, `int` and
`[]string`.  A function fails by raising FunctionError; the executor reports
`error calling NAME: MESSAGE`.

docker's functions (cli/templates): json, split, join, title, lower, upper,
pad, truncate; HEADER_FUNCTIONS are the stand-ins docker uses when it renders
a table's header row.
"""

from hakobune.cli.template.errors import FunctionError
from hakobune.cli.template.gofmt import sprint, sprintln
from hakobune.cli.template.printf import Spec, format_arg, sprintf
from hakobune.cli.template.values import MISSING, go_type_name, is_int, is_true

ANY = "interface {}"
VALUE = "reflect.Value"
STR = "string"
INT = "int"
STRLIST = "[]string"


class Function:
    """A template function: `impl(*args)` and its parameter kinds; a
    `variadic` kind accepts any number of further arguments."""

    __slots__ = ("impl", "params", "variadic")

    def __init__(self, impl, params: tuple = (), variadic: str | None = None):
        self.impl = impl
        self.params = params
        self.variadic = variadic


# Comparison


def _basic_kind(value) -> str | None:
    """The comparison class of a value: nil, bool, number, string, or None
    for values Go cannot order (slices, maps, structs)."""
    if value is None or value is MISSING:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _check_comparable(first, second) -> None:
    uncomparable = (list, tuple, dict)
    if type(first) is not type(second) and (isinstance(first, uncomparable) or isinstance(second, uncomparable)):
        raise FunctionError(
            f"non-comparable types {format_arg(first, 's', Spec())}: {go_type_name(first)}, "
            f"{go_type_name(second)}: {format_arg(second, 'v', Spec())}"
        )
    if isinstance(second, uncomparable):
        raise FunctionError(f"non-comparable type {format_arg(second, 's', Spec())}: {go_type_name(second)}")


def builtin_eq(first, *others) -> bool:
    """Whether first equals any of the others."""
    if not others:
        raise FunctionError("missing argument for comparison")
    first_kind = _basic_kind(first)
    for other in others:
        other_kind = _basic_kind(other)
        if first_kind != other_kind:
            if first_kind != "nil" and other_kind != "nil":
                raise FunctionError("incompatible types for comparison")
            continue
        if first_kind == "nil":
            return True
        if first_kind is None:
            _check_comparable(first, other)
        if first == other:
            return True
    return False


def builtin_ne(first, second) -> bool:
    return not builtin_eq(first, second)


def builtin_lt(first, second) -> bool:
    first_kind, second_kind = _basic_kind(first), _basic_kind(second)
    if first_kind in ("nil", None) or second_kind in ("nil", None):
        raise FunctionError("invalid type for comparison")
    if first_kind != second_kind:
        raise FunctionError("incompatible types for comparison")
    if first_kind == "bool":
        raise FunctionError("invalid type for comparison")
    return first < second


def builtin_le(first, second) -> bool:
    return builtin_lt(first, second) or builtin_eq(first, second)


def builtin_gt(first, second) -> bool:
    return not builtin_le(first, second)


def builtin_ge(first, second) -> bool:
    return not builtin_lt(first, second)


def builtin_not(value) -> bool:
    return not is_true(value)


# Collections


def builtin_len(item) -> int:
    if item is MISSING:
        raise FunctionError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise FunctionError("len of nil pointer")
    if isinstance(item, str):
        return len(item) if item.isascii() else len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, (list, tuple, dict)):
        return len(item)
    raise FunctionError(f"len of type {go_type_name(item)}")


def _index_value(index, size: int, bound: int) -> int:
    """An index argument checked as Go's indexArg (bound is len or cap)."""
    if index is None or index is MISSING:
        raise FunctionError("cannot index slice/array with nil")
    if not is_int(index):
        raise FunctionError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index >= bound:
        raise FunctionError(f"index out of range: {index}")
    return index


def _map_entry(mapping: dict, key):
    if key is None or key is MISSING:
        raise FunctionError("value is nil; should be of type string")
    if not isinstance(key, str) and all(isinstance(existing, str) for existing in mapping):
        raise FunctionError(f"value has type {go_type_name(key)}; should be string")
    try:
        value = mapping.get(key, MISSING)
    except TypeError:
        raise FunctionError(f"value has type {go_type_name(key)}; should be string") from None
    return zero_element(mapping) if value is MISSING else value


def zero_element(mapping: dict):
    """What `index` gives for a missing key: Go's zero value of the map's
    element type.  Docker's typed label and option maps (map[string]string)
    give "", which a dict holding only strings stands for; any other map
    gives nil."""
    return "" if all(type(value) is str for value in mapping.values()) else None


def builtin_index(item, *indexes):
    """item[i][j]...: slices and strings by int (a string gives a byte),
    maps by key."""
    if item is None or item is MISSING:
        raise FunctionError("index of untyped nil")
    for index in indexes:
        if item is None or item is MISSING:
            raise FunctionError("index of nil pointer")
        if isinstance(item, dict):
            item = _map_entry(item, index)
        elif isinstance(item, str):
            data = item.encode("utf-8", "surrogateescape")
            item = data[_index_value(index, len(data), len(data))]
        elif isinstance(item, (list, tuple)):
            item = item[_index_value(index, len(item), len(item))]
        else:
            raise FunctionError(f"can't index item of type {go_type_name(item)}")
    return item


def builtin_slice(item, *indexes):
    """item[i:j] (or item[i:j:k] on a slice); strings slice by bytes."""
    if item is None or item is MISSING:
        raise FunctionError("slice of untyped nil")
    if len(indexes) > 3:
        raise FunctionError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FunctionError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogateescape")
        start, end = _slice_bounds(indexes, len(data))
        return data[start:end].decode("utf-8", "surrogateescape")
    if isinstance(item, (list, tuple)):
        start, end = _slice_bounds(indexes, len(item))
        return list(item[start:end])
    raise FunctionError(f"can't slice item of type {go_type_name(item)}")


def _slice_bounds(indexes: tuple, size: int) -> tuple[int, int]:
    bounds = [0, size, size]
    for position, index in enumerate(indexes):
        bounds[position] = _index_value(index, size, size + 1)
    if bounds[0] > bounds[1]:
        raise FunctionError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and bounds[1] > bounds[2]:
        raise FunctionError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    return bounds[0], bounds[1]


# Printing and escaping


def _as_text(args: tuple) -> str:
    """The text html, js and urlquery escape: a lone string argument, else
    fmt.Sprint of all of them, a nil one counting as the string "<no value>"."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if arg is None else arg for arg in args])


_HTML_ESCAPES = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
_JS_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def builtin_html(*args) -> str:
    text = _as_text(args)
    if not any(char in text for char in "\"'&<>\0"):
        return text
    return "".join(_HTML_ESCAPES.get(char, char) for char in text)


def _js_char(char: str) -> str:
    escape = _JS_ESCAPES.get(char)
    if escape:
        return escape
    if char < " " or (char > "\x7f" and not char.isprintable()):
        return f"\\u{ord(char):04X}"
    return char


def builtin_js(*args) -> str:
    return "".join(_js_char(char) for char in _as_text(args))


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def builtin_urlquery(*args) -> str:
    out = []
    for byte in _as_text(args).encode("utf-8", "surrogateescape"):
        if byte in _URL_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def builtin_print(*args) -> str:
    return sprint(args)


def builtin_println(*args) -> str:
    return sprintln(args)


def builtin_printf(text: str, *args) -> str:
    return sprintf(text, list(args))


def builtin_call(function, *args):
    """Only reached for Python callables: the executor rejects others."""
    return function(*args)


# docker's functions


def docker_json(value) -> str:
    from hakobune.cli.template.gojson import UnsupportedValue, go_json

    try:
        return go_json(value)
    except UnsupportedValue:
        return ""  # docker ignores the encoder's error and prints nothing


def docker_split(text: str, separator: str) -> list:
    if separator == "":
        return list(text)
    return text.split(separator)


def docker_join(items: list, separator: str) -> str:
    return separator.join(items)


def _is_word_separator(char: str) -> bool:
    if char < "\x80":
        return not (char.isalnum() or char == "_")
    return char.isspace()


def docker_title(text: str) -> str:
    """Go's strings.Title: the first letter of each word in title case."""
    out = []
    previous = " "
    for char in text:
        if _is_word_separator(previous):
            titled = char.title()
            out.append(titled if len(titled) == 1 else char)
        else:
            out.append(char)
        previous = char
    return "".join(out)


def _map_runes(text: str, convert) -> str:
    """Go's one-rune-to-one-rune case mapping (Python's may expand 'ß' to 'SS')."""
    converted = convert(text)
    if len(converted) == len(text):
        return converted
    out = []
    for char in text:
        mapped = convert(char)
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


def docker_lower(text: str) -> str:
    return _map_runes(text, str.lower)


def docker_upper(text: str) -> str:
    return _map_runes(text, str.upper)


def docker_pad(text: str, prefix: int, suffix: int) -> str:
    if text == "":
        return text
    if prefix < 0 or suffix < 0:
        raise FunctionError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix


def docker_truncate(text: str, length: int) -> str:
    """The first `length` bytes, as docker cuts (even inside a character)."""
    if text.isascii():
        size = len(text)
    else:
        size = len(text.encode("utf-8", "surrogateescape"))
    if size < length:
        return text
    if length < 0:
        raise FunctionError(f"runtime error: slice bounds out of range [:{length}]")
    if text.isascii():
        return text[:length]
    return text.encode("utf-8", "surrogateescape")[:length].decode("utf-8", "surrogateescape")


def _header_identity(value, *ignored):
    return value


BUILTINS = {
    "and": Function(None, (VALUE,), VALUE),
    "or": Function(None, (VALUE,), VALUE),
    "not": Function(builtin_not, (VALUE,)),
    "len": Function(builtin_len, (VALUE,)),
    "index": Function(builtin_index, (VALUE,), VALUE),
    "slice": Function(builtin_slice, (VALUE,), VALUE),
    "call": Function(builtin_call, (VALUE,), VALUE),
    "eq": Function(builtin_eq, (VALUE,), VALUE),
    "ne": Function(builtin_ne, (VALUE, VALUE)),
    "lt": Function(builtin_lt, (VALUE, VALUE)),
    "le": Function(builtin_le, (VALUE, VALUE)),
    "gt": Function(builtin_gt, (VALUE, VALUE)),
    "ge": Function(builtin_ge, (VALUE, VALUE)),
    "print": Function(builtin_print, (), ANY),
    "printf": Function(builtin_printf, (STR,), ANY),
    "println": Function(builtin_println, (), ANY),
    "html": Function(builtin_html, (), ANY),
    "js": Function(builtin_js, (), ANY),
    "urlquery": Function(builtin_urlquery, (), ANY),
}

DOCKER_FUNCTIONS = {
    "json": Function(docker_json, (ANY,)),
    "split": Function(docker_split, (STR, STR)),
    "join": Function(docker_join, (STRLIST, STR)),
    "title": Function(docker_title, (STR,)),
    "lower": Function(docker_lower, (STR,)),
    "upper": Function(docker_upper, (STR,)),
    "pad": Function(docker_pad, (STR, INT, INT)),
    "truncate": Function(docker_truncate, (STR, INT)),
}

HEADER_FUNCTIONS = {
    "json": Function(_header_identity, (STR,)),
    "split": Function(_header_identity, (STR, STR)),
    "join": Function(_header_identity, (STR, STR)),
    "title": Function(_header_identity, (STR,)),
    "lower": Function(_header_identity, (STR,)),
    "upper": Function(_header_identity, (STR,)),
    "pad": Function(_header_identity, (STR, INT, INT)),
    "truncate": Function(_header_identity, (STR, INT)),
}

DEFAULT_FUNCTIONS = {**BUILTINS, **DOCKER_FUNCTIONS}


def python_function(impl) -> Function:
    """A Python callable as a template function taking any arguments."""
    return Function(impl, (), ANY)
