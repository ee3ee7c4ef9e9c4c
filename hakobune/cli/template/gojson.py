"""Go's encoding/json output, for the template function `json` and `--format json`.

Compact, like json.Marshal: floats in Go's form (`1000000`, `2.5`, `1e+21`,
`1e-7`), `\\u2028` and `\\u2029` escaped, and, when asked (json.Marshal does,
docker's `json` template function does not), `<`, `>` and `&` escaped as
`\\u003c`, `\\u003e`, `\\u0026`.  Dicts keep their order unless sort_keys
(Go sorts map keys; a dict decoded from the Engine API's JSON already has Go's
order).  An object with a `__json__()` method supplies its own JSON text, as
a Go json.Marshaler does.  Uses the json package's C string escaper only, so
importing this module does not import `json` (which imports `re`).
"""

from _json import encode_basestring

from hakobune.cli.template.gofmt import format_float
from hakobune.cli.template.values import MISSING


class UnsupportedValue(ValueError):
    """Go's json.UnsupportedValueError: NaN and infinities have no JSON form."""


def json_float(number: float) -> str:
    """Go's encoding of a float64: fixed notation unless tiny or huge."""
    if number != number or number in (float("inf"), float("-inf")):
        raise UnsupportedValue("json: unsupported value: " + format_float(number))
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = format_float(number, "e")
        mantissa, _, exponent = text.partition("e")
        if exponent.startswith("-0"):
            exponent = "-" + exponent[2:]
        return mantissa + "e" + exponent
    return format_float(number, "f")


def json_string(text: str, escape_html: bool) -> str:
    encoded = encode_basestring(text)
    if "\u2028" in encoded or "\u2029" in encoded:
        encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html and ("<" in encoded or ">" in encoded or "&" in encoded):
        encoded = encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return encoded


def go_json(value, escape_html: bool = False, sort_keys: bool = False) -> str:
    """The compact JSON text Go would write for `value`."""
    out: list[str] = []
    _encode(value, out, escape_html, sort_keys)
    return "".join(out)


def _encode(value, out: list, escape_html: bool, sort_keys: bool) -> None:
    kind = type(value)
    if kind is str:
        out.append(json_string(value, escape_html))
    elif value is None or value is MISSING:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    elif kind is int:
        out.append(str(value))
    elif kind is float:
        out.append(json_float(value))
    elif isinstance(value, dict):
        _encode_dict(value, out, escape_html, sort_keys)
    elif isinstance(value, (list, tuple)):
        _encode_list(value, out, escape_html, sort_keys)
    else:
        _encode_other(value, out, escape_html, sort_keys)


def _encode_dict(value: dict, out: list, escape_html: bool, sort_keys: bool) -> None:
    marshal = getattr(value, "__json__", None)
    if marshal is not None:
        out.append(marshal())
        return
    keys = sorted(value, key=str) if sort_keys else value
    out.append("{")
    for index, key in enumerate(keys):
        if index:
            out.append(",")
        out.append(json_string(str(key), escape_html))
        out.append(":")
        _encode(value[key], out, escape_html, sort_keys)
    out.append("}")


def _encode_list(value, out: list, escape_html: bool, sort_keys: bool) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out, escape_html, sort_keys)
    out.append("]")


def _encode_other(value, out: list, escape_html: bool, sort_keys: bool) -> None:
    marshal = getattr(value, "__json__", None)
    if marshal is not None:
        out.append(marshal())
    elif isinstance(value, str):
        out.append(json_string(str.__str__(value), escape_html))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(json_float(float(value)))
    else:
        _encode_dict(_public_attributes(value), out, escape_html, sort_keys)


def _public_attributes(obj) -> dict:
    fields = getattr(type(obj), "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(obj, name) for name in fields}
    try:
        return {name: value for name, value in vars(obj).items() if not name.startswith("_")}
    except TypeError:
        return {}
