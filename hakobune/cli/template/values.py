"""How Python values stand for Go values in templates.

Data comes as JSON-decoded values (dict, list, str, int, float, bool, None)
or as plain Python objects whose attributes are fields and whose methods can
be called.  `MISSING` is Go's invalid reflect.Value: what a missing map key
or an unset variable yields; it prints as `<no value>`.  None is Go's nil.
"""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()

JSON_SCALARS = (str, int, float, bool)


def go_type_name(value) -> str:
    """The Go type a value stands for, as %T and error messages print it."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, dict):
        return "map[string]interface {}"
    return type(value).__name__


def is_true(value) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, slices and maps
    are false; everything else, structs included, is true."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
