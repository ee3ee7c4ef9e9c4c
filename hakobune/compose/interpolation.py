"""The compose specification's variable interpolation:

    $VAR  ${VAR}  ${VAR:-default}  ${VAR-default}  ${VAR:?error}  ${VAR?error}
    ${VAR:+replacement}  ${VAR+replacement}  $$ (a literal $)

applied to every string value of a compose file (never to keys).  A
default or replacement may itself hold variables.
"""

from hakobune.errors import InvalidArgument


class InterpolationError(InvalidArgument):
    """A bad ${...} or a required variable without a value."""


def _name_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return end


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` closing the `${` whose body starts at `start` (nesting counted)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def substitute(text: str, lookup, where: str = "") -> str:
    """`text` with its variables replaced by lookup(name) (None: unset)."""
    out = []
    i = 0
    while i < len(text):
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        nxt = text[dollar + 1:dollar + 2]
        if nxt == "$":
            out.append("$")
            i = dollar + 2
        elif nxt == "{":
            end = _closing_brace(text, dollar + 2)
            if end < 0:
                raise _bad_format(where, text)
            out.append(_braced(text[dollar + 2:end], lookup, where, text))
            i = end + 1
        elif nxt and (nxt.isalpha() or nxt == "_"):
            end = _name_end(text, dollar + 1)
            out.append(lookup(text[dollar + 1:end]) or "")
            i = end
        else:
            out.append("$")
            i = dollar + 1
    return "".join(out)


def _bad_format(where: str, text: str) -> InterpolationError:
    return InterpolationError(f"invalid interpolation format for {where}.\n"
                              f"You may need to escape any $ with another $.\n{text}")


def _braced(body: str, lookup, where: str, whole: str) -> str:
    name_end = _name_end(body, 0)
    name, rest = body[:name_end], body[name_end:]
    if not name or name[0].isdigit():
        raise _bad_format(where, whole)
    value = lookup(name)
    if not rest:
        return value or ""
    for operator in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(operator):
            argument = rest[len(operator):]
            break
    else:
        raise _bad_format(where, whole)
    unset_or_empty = value is None or (operator.startswith(":") and value == "")
    kind = operator[-1]
    if kind == "-":
        return substitute(argument, lookup, where) if unset_or_empty else value
    if kind == "+":
        return "" if unset_or_empty else substitute(argument, lookup, where)
    if unset_or_empty:
        message = substitute(argument, lookup, where)
        raise InterpolationError(f"error while interpolating {where}: required variable {name} is missing a "
                                 f"value" + (f": {message}" if message else ""))
    return value


def interpolate_tree(node, lookup, path: str = ""):
    """Every string value in a YAML tree (dicts, lists, scalars) interpolated."""
    if isinstance(node, dict):
        return {key: interpolate_tree(value, lookup, f"{path}.{key}" if path else str(key))
                for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, lookup, f"{path}[{index}]") for index, value in enumerate(node)]
    if isinstance(node, str):
        return substitute(node, lookup, path)
    return node
