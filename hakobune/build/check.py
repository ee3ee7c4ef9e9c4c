"""Checks of parsed instructions, as BuildKit's instructions package makes them.

`check_instruction` refuses what a build would refuse before running anything:
an unknown instruction (with BuildKit's "did you mean" hint), flags an
instruction does not take or gives badly, a wrong number of arguments, a bad
stage name, an ONBUILD trigger that cannot be one.  `parse_flags` gives an
instruction's flags as values by name (``{"from": "builder", "link": True,
"exclude": [...]}``), the defaults filled in.

The messages are BuildKit's; the caller adds the file and line.
"""

from hakobune.build.errors import BuildError
from hakobune.build.parser import INSTRUCTIONS, Instruction, parse_heredoc
from hakobune.build.shell_words import go_quote

# Each instruction's flags: name -> "string" | "bool" | "strings" (repeatable).
FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": "string"},
    "RUN": {"mount": "strings", "network": "string", "security": "string", "device": "strings"},
    "COPY": {"chown": "string", "from": "string", "chmod": "string", "link": "bool",
             "exclude": "strings", "parents": "bool"},
    "ADD": {"chown": "string", "chmod": "string", "link": "bool", "keep-git-dir": "bool",
            "checksum": "string", "unpack": "bool", "exclude": "strings"},
    "HEALTHCHECK": {"interval": "string", "timeout": "string", "start-period": "string",
                    "start-interval": "string", "retries": "string"},
}

_DEFAULTS = {"strings": list, "bool": bool, "string": str}
_STAGE_NAME_FIRST = "abcdefghijklmnopqrstuvwxyz"
_STAGE_NAME_REST = _STAGE_NAME_FIRST + "0123456789-_."


def parse_flags(instruction: Instruction) -> dict:
    """The instruction's flags by name; BuildError for unknown or bad ones."""
    spec = FLAGS.get(instruction.keyword, {})
    if instruction.keyword == "HEALTHCHECK" and instruction.args[:1] and instruction.args[0].upper() == "NONE":
        spec = {}
    values: dict = {name: _DEFAULTS[kind]() for name, kind in spec.items()}
    used: set = set()
    for flag in instruction.flags:
        if not flag.startswith("--"):
            raise BuildError(f"arg should start with -- : {flag}")
        if flag == "--":
            break
        name, has_value, value = flag[2:].partition("=")
        kind = spec.get(name)
        if kind is None:
            raise BuildError(_with_suggestion(f"unknown flag: {name}", name, list(spec), case_sensitive=True))
        if name in used and kind != "strings":
            raise BuildError(f"duplicate flag specified: {name}")
        used.add(name)
        if kind == "bool":
            if has_value and value == "":
                raise BuildError(f"missing a value on flag: {name}")
            if value.lower() in ("true", ""):
                values[name] = True
            elif value.lower() == "false":
                values[name] = False
            else:
                raise BuildError(f"expecting boolean value for flag {name}, not: {value}")
        elif not has_value:
            raise BuildError(f"missing a value on flag: {name}")
        elif kind == "strings":
            values[name].append(value)
        else:
            values[name] = value
    return values


def check_instruction(instruction: Instruction) -> None:
    """BuildError when a build would refuse this instruction."""
    keyword = instruction.keyword
    if keyword not in INSTRUCTIONS:
        raise BuildError(_with_suggestion(f"unknown instruction: {_as_written(instruction)}",
                                          _as_written(instruction), sorted(INSTRUCTIONS), case_sensitive=False))
    if keyword != "HEALTHCHECK":
        parse_flags(instruction)
    _CHECKS.get(keyword, _no_check)(instruction)


def _as_written(instruction: Instruction) -> str:
    word = instruction.original.strip()
    end = 0
    while end < len(word) and word[end] not in " \t\v\f\r":
        end += 1
    return word[:end] or instruction.keyword


def _no_check(instruction: Instruction) -> None:
    return None


def _check_pairs(instruction: Instruction) -> None:
    args = instruction.args
    if not args:
        raise BuildError(f"{instruction.keyword} requires at least one argument")
    if len(args) % 3:
        raise BuildError(f"Bad input to {instruction.keyword}, too many arguments")
    if any(args[i] == "" for i in range(0, len(args), 3)):
        raise BuildError(f"{instruction.keyword} names can not be blank")


def _check_exactly_one(instruction: Instruction) -> None:
    if len(instruction.args) != 1:
        raise BuildError(f"{instruction.keyword} requires exactly one argument")


def _check_at_least_one(instruction: Instruction) -> None:
    if not instruction.args:
        raise BuildError(f"{instruction.keyword} requires at least one argument")


def _check_copy(instruction: Instruction) -> None:
    if len(instruction.args) < 2:
        raise BuildError(f"{instruction.keyword} requires at least two arguments, but only one was provided. "
                         "Destination could not be determined")
    if not instruction.json and parse_heredoc(instruction.args[-1]) is not None:
        raise BuildError(f"{instruction.keyword} cannot accept a heredoc as a destination")


def _check_from(instruction: Instruction) -> None:
    args = instruction.args
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not (name[:1] and name[0] in _STAGE_NAME_FIRST and all(ch in _STAGE_NAME_REST for ch in name)):
            raise BuildError(f"invalid name for build stage: {go_quote(args[2])}, "
                             "name can't start with a number or contain symbols")
    elif len(args) != 1:
        raise BuildError("FROM requires either one or three arguments")


def _check_onbuild(instruction: Instruction) -> None:
    trigger = instruction.trigger
    if trigger is None:
        raise BuildError("ONBUILD requires at least one argument")
    if trigger.keyword == "ONBUILD":
        raise BuildError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger.keyword in ("MAINTAINER", "FROM"):
        raise BuildError(f"{trigger.keyword} isn't allowed as an ONBUILD trigger")


def _check_healthcheck(instruction: Instruction) -> None:
    args = instruction.args
    if not args:
        raise BuildError("HEALTHCHECK requires at least one argument")
    kind = args[0].upper()
    if kind == "NONE":
        if len(args) != 1:
            raise BuildError("HEALTHCHECK NONE takes no arguments")
        parse_flags(instruction)
        return
    flags = parse_flags(instruction)
    if kind != "CMD":
        raise BuildError(f"Unknown type {go_quote(kind)} in HEALTHCHECK (try CMD)")
    if len(args) < 2:
        raise BuildError("Missing command after HEALTHCHECK CMD")
    for name in ("interval", "timeout", "start-period", "start-interval"):
        if flags[name]:
            _check_interval(name, flags[name])
    if flags["retries"]:
        text = flags["retries"]
        digits = text[1:] if text[:1] in "+-" else text
        if not (digits.isascii() and digits.isdigit()):
            raise BuildError(f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax")
        retries = int(text)
        if not -2**31 <= retries < 2**31:
            raise BuildError(f"strconv.ParseInt: parsing {go_quote(text)}: value out of range")
        if retries < 0:
            raise BuildError(f"--retries cannot be negative ({retries})")


def _check_interval(name: str, value: str) -> None:
    from hakobune.build.durations import parse_go_duration

    seconds = parse_go_duration(value)
    if seconds == 0:
        return
    if seconds < 0.001:
        raise BuildError(f'Interval "{name}" cannot be less than 1ms')


def _check_volume(instruction: Instruction) -> None:
    _check_at_least_one(instruction)
    if any(not volume.strip() for volume in instruction.args):
        raise BuildError("VOLUME specified can not be an empty string")


def _check_arg(instruction: Instruction) -> None:
    _check_at_least_one(instruction)
    for arg in instruction.args:
        if "=" in arg and arg.split("=", 1)[0] == "":
            raise BuildError("ARG names can not be blank")


def _check_shell(instruction: Instruction) -> None:
    if not instruction.args:
        raise BuildError("SHELL requires at least one argument")
    if not instruction.json:
        raise BuildError("SHELL requires the arguments to be in JSON form")


_CHECKS = {
    "ENV": _check_pairs,
    "LABEL": _check_pairs,
    "MAINTAINER": _check_exactly_one,
    "ADD": _check_copy,
    "COPY": _check_copy,
    "FROM": _check_from,
    "ONBUILD": _check_onbuild,
    "WORKDIR": _check_exactly_one,
    "HEALTHCHECK": _check_healthcheck,
    "EXPOSE": _check_at_least_one,
    "USER": _check_exactly_one,
    "VOLUME": _check_volume,
    "STOPSIGNAL": _check_exactly_one,
    "ARG": _check_arg,
    "SHELL": _check_shell,
}


def _with_suggestion(message: str, value: str, options: list[str], case_sensitive: bool) -> str:
    """BuildKit's suggest.WrapError: the closest option within distance 2."""
    match = _closest(value, options, case_sensitive)
    return f"{message} (did you mean {match}?)" if match else message


def _closest(value: str, options: list[str], case_sensitive: bool) -> str:
    original = value
    if not case_sensitive:
        value = value.lower()
    match = ""
    best = 3
    for option in options:
        if not case_sensitive:
            option = option.lower()
        if value == option:
            return ""
        distance = _levenshtein(value, option)
        if distance < best:
            best = distance
            match = option if case_sensitive else _match_case(option, original)
    return match


def _match_case(value: str, original: str) -> str:
    if original == original.lower():
        return value.lower()
    if original == original.upper():
        return value.upper()
    return value


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
