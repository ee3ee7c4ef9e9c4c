"""JSON for the container start path, without importing the json package.

`import json` brings in `re` and `enum`, which together cost more than a
container's mounts.  The json package's own C accelerator (`_json`) does all
the work here; only the thin Python wrapper is skipped.  Output is compact
(no indentation); commands that print JSON for people use the json package.
"""

import _json


class _DecoderSettings:
    """The attributes the C scanner reads from a json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name):
        raise ValueError(f"{name} is not valid JSON")


_scan = _json.make_scanner(_DecoderSettings())
_WHITESPACE = " \t\n\r"


def _refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def loads(text: str | bytes):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8-sig")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    except SystemError:
        # The C scanner builds its error from json.decoder, which it only
        # finds when imported: the slow path is for errors only.
        import json

        json.loads(text)
        raise
    rest = text[end:].strip(_WHITESPACE)
    if rest:
        raise ValueError(f"Extra data: char {end}")
    return value


def dumps(value, sort_keys: bool = False) -> str:
    encode = _json.make_encoder({}, _refuse, _json.encode_basestring_ascii, None, ":", ",", sort_keys, False, False)
    return "".join(encode(value, 0))
