"""Flag value kinds: how a flag's text becomes a value, and how it shows.

A `Kind` bundles a converter (text -> value, raising ValueError with the
message docker prints after `invalid argument "x" for "--f" flag: `), a merge
rule for repeated flags, and the help rendering of the type and default.
The kinds here are the ones the docker CLI uses: pflag's scalars, string
slices (CSV) and string arrays, and docker's own opts types: `list`
(ListOpts, never split on commas), `map`, `filter`, `bytes` (RAMInBytes),
`decimal` (NanoCPUs) and `ulimit`.

Converters are plain callables; a flag may pass its own (`convert=`) to any
kind, for instance `validate_env` to a list flag.
"""

import os

from hakobune.createbody.gosyntax import (
    GoSyntaxError, float_to_int64, format_duration, parse_bool, parse_duration,
    parse_float, parse_int, parse_uint, quote, underscores_ok,
)

ConversionError = GoSyntaxError  # converters may raise any ValueError


def _replace(current, value, first):
    return value


def _append(current, value, first):
    if value is not None:
        current.append(value)
    return current


def _extend_after_first(current, value, first):
    """pflag's slices: the first use replaces the default, later ones add."""
    return list(value) if first else current + list(value)


def _array(current, value, first):
    return [value] if first else current + [value]


def _update(current, value, first):
    key, val = value
    current[key] = val
    return current


def _copy(value):
    if isinstance(value, (list, dict)):
        return type(value)(value)
    return value


# pflag's defaultIsZeroValue for Value types it does not know.
CUSTOM_ZERO = ("false", "<nil>", "", "0")


class Kind:
    """A flag's type: converter, merge rule and help rendering.

    - `name`: the type shown in --help ("string", "list"; "" for bools).
    - `convert(text)`: the value for one occurrence; raise ValueError.
    - `merge(current, value, first)`: the flag's new value after one more
      occurrence (`first` is True for the first one on the command line).
    - `show(default)`: Go's text of the default (pflag's DefValue).
    - `zero`: DefValue texts for which --help prints no "(default ...)".
    - `no_opt`: pflag's NoOptDefVal: the value of `--flag` with no `=`.
    - `quoted`: the default is shown with %q (pflag's string flags).
    """

    __slots__ = ("name", "convert", "merge", "show", "zero", "no_opt", "quoted", "default")

    def __init__(self, name, convert, *, merge=_replace, show=str, zero=CUSTOM_ZERO,
                 no_opt=None, quoted=False, default=None):
        self.name = name
        self.convert = convert
        self.merge = merge
        self.show = show
        self.zero = zero
        self.no_opt = no_opt
        self.quoted = quoted
        self.default = default

    def initial(self, default):
        """A fresh copy of the default for one parse."""
        return _copy(self.default if default is None else default)

    def with_convert(self, convert):
        k = Kind(self.name, convert, merge=self.merge, show=self.show, zero=self.zero,
                 no_opt=self.no_opt, quoted=self.quoted, default=self.default)
        return k


def _ranged(parse, bits):
    return lambda s: parse(s, 0, bits)


def _go_float_text(v: float) -> str:
    """Go's %v of a float64 (strconv 'g', shortest), enough for defaults."""
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


BOOL = Kind("", parse_bool, show=lambda d: "true" if d else "false", zero=("false",),
            no_opt="true", default=False)
STRING = Kind("string", str, show=str, zero=("",), quoted=True, default="")
INT = Kind("int", _ranged(parse_int, 64), zero=("0",), default=0)
INT64 = INT
INT32 = Kind("int32", _ranged(parse_int, 32), zero=("0",), default=0)
UINT = Kind("uint", _ranged(parse_uint, 64), zero=("0",), default=0)
UINT64 = UINT
UINT16 = Kind("uint16", _ranged(parse_uint, 16), zero=("0",), default=0)
UINT32 = Kind("uint32", _ranged(parse_uint, 32), zero=("0",), default=0)
FLOAT = Kind("float", parse_float, show=_go_float_text, zero=("0",), default=0.0)
DURATION = Kind("duration", parse_duration, show=format_duration, zero=("0", "0s"), default=0)


# ------------------------------------------------------------- CSV (slices)

_EXTRANEOUS = 'extraneous or missing " in quoted-field'


def read_csv_record(s: str) -> list[str]:
    """One record as Go's encoding/csv reads it (pflag's StringSlice)."""
    if s == "":
        return []
    fields = []
    i, n = 0, len(s)
    while True:
        if i < n and s[i] == '"':
            i += 1
            buf = []
            while True:
                j = s.find('"', i)
                if j < 0:
                    raise ConversionError(f"parse error on line 1, column {n + 1}: {_EXTRANEOUS}")
                buf.append(s[i:j])
                if j + 1 < n and s[j + 1] == '"':
                    buf.append('"')
                    i = j + 2
                    continue
                if j + 1 == n or s[j + 1] in ",\n":
                    i = j + 1
                    break
                raise ConversionError(f"parse error on line 1, column {j + 1}: {_EXTRANEOUS}")
            fields.append("".join(buf))
        else:
            j = i
            while j < n and s[j] not in ",\n":
                if s[j] == '"':
                    raise ConversionError(
                        f'parse error on line 1, column {j + 1}: bare " in non-quoted-field')
                j += 1
            fields.append(s[i:j])
            i = j
        if i < n and s[i] == ",":
            i += 1
            continue
        return fields


def write_csv_record(values) -> str:
    out = []
    for v in values:
        if v and (any(c in v for c in ',"\r\n') or v[0] in " \t"):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return ",".join(out)


def _show_slice(v) -> str:
    return "[" + write_csv_record(v or ()) + "]"


STRING_SLICE = Kind("strings", read_csv_record, merge=_extend_after_first, show=_show_slice,
                    zero=("[]",), default=[])
STRING_ARRAY = Kind("stringArray", str, merge=_array, show=_show_slice, zero=("[]",), default=[])


# ------------------------------------------------------------- docker opts

def _show_list(v) -> str:
    return "" if not v else "[" + " ".join(v) + "]"


def _show_map(v) -> str:
    return "map[" + " ".join(f"{k}:{v[k]}" for k in sorted(v or {})) + "]"


def _map_pair(text: str):
    key, _, val = text.partition("=")
    return key, val


def map_entry(validate=None):
    """A converter for map flags: optional validator, then split at '='."""
    if validate is None:
        return _map_pair
    return lambda text: _map_pair(validate(text))


LIST = Kind("list", str, merge=_append, show=_show_list, default=[])
MAP = Kind("map", _map_pair, merge=_update, show=_show_map, default={})


def parse_filter(text: str):
    """docker's --filter: `name=value`; name lower-cased, both trimmed."""
    if text == "":
        return None
    if "=" not in text:
        raise ConversionError("bad format of filter (expected name=value)")
    name, _, value = text.partition("=")
    return name.strip().lower(), value.strip()


FILTER = Kind("filter", parse_filter, merge=_append, show=_show_list, default=[])


def _parse_size(text: str, units: int) -> int:
    sep = -1
    for i in range(len(text) - 1, -1, -1):
        if text[i] in "0123456789. ":
            sep = i
            break
    if sep < 0:
        raise ConversionError(f"invalid size: '{text}'")
    if text[sep] == " ":
        num, sfx = text[:sep], text[sep + 1:]
    else:
        num, sfx = text[:sep + 1], text[sep + 1:]
    size = parse_float(num)
    if size < 0:
        raise ConversionError(f"invalid size: '{text}'")
    if not sfx:
        return float_to_int64(size)
    if len(sfx) > 3:
        raise ConversionError(f"invalid suffix: '{sfx}'")
    low = sfx.lower()
    if low[0] == "b":
        if len(low) > 1:
            raise ConversionError(f"invalid suffix: '{low}'")
        return float_to_int64(size)
    power = "kmgtp".find(low[0])
    if power < 0 or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise ConversionError(f"invalid suffix: '{low}'")
    return float_to_int64(size * units ** (power + 1))


def ram_in_bytes(text: str) -> int:
    """docker's memory sizes ("512m", "1.5g", "1GiB"): binary units."""
    return _parse_size(text, 1024)


def from_human_size(text: str) -> int:
    """docker's decimal sizes ("1kB" = 1000)."""
    return _parse_size(text, 1000)


def swap_bytes(text: str) -> int:
    """--memory-swap: a size, or -1 for unlimited."""
    return -1 if text == "-1" else ram_in_bytes(text)


BYTES = Kind("bytes", ram_in_bytes, zero=("0",), default=0)
SWAP_BYTES = Kind("bytes", swap_bytes, zero=("0",), default=0)


# ---------------------------------------------------------------- --cpus

def _rat_int(s: str):
    """A big.Int as Rat's fractions read it: sign, base prefix, underscores."""
    neg = s[:1] == "-"
    if s[:1] in "+-":
        s = s[1:]
    try:
        n = parse_uint(s, 0, 4096)
    except GoSyntaxError:
        return None
    return -n if neg else n


def _rat_float(s: str):
    """(numerator, denominator) of Rat.SetString's float form, or None."""
    neg = s[:1] == "-"
    if s[:1] in "+-":
        s = s[1:]
    base, prefixed, digits = 10, False, "0123456789"
    low = s.lower()
    if low[:2] in ("0x", "0o", "0b"):
        base = {"x": 16, "o": 8, "b": 2}[low[1]]
        digits = "0123456789abcdef"[:base]
        low, prefixed = low[2:], True
    exp_char = -1
    for i, c in enumerate(low):
        if c == "p" or (c == "e" and base == 10):
            exp_char = i
            break
    mant, exp = (low, "") if exp_char < 0 else (low[:exp_char], low[exp_char + 1:])
    whole, _, frac = mant.partition(".")
    if not (whole.replace("_", "") or frac.replace("_", "")):
        return None
    for part, first in ((whole, True), (frac, False)):
        if part.strip(digits + "_") or (part and not underscores_ok(part, prefixed and first)):
            return None
    whole, frac = whole.replace("_", ""), frac.replace("_", "")
    num = int(whole + frac or "0", base)
    den = base ** len(frac)
    if exp_char >= 0:
        try:
            e = parse_int(exp, 10, 32)
        except GoSyntaxError:
            return None
        factor = (10 if low[exp_char] == "e" else 2) ** min(abs(e), 4000)
        if e >= 0:
            num *= factor
        else:
            den *= factor
    return (-num if neg else num), den


def parse_cpus(text: str) -> int:
    """docker's --cpus (NanoCPUs): a rational number of CPUs, in 1e-9 units."""
    if "/" in text:
        a, _, b = text.partition("/")
        num = _rat_int(a)
        den = _rat_int(b) if b[:1] not in "+-" else None
        rat = None if num is None or not den else (num, den)
    else:
        rat = _rat_float(text)
    if rat is None:
        raise ConversionError(f"failed to parse {text} as a rational number")
    num, den = rat
    nano, rest = divmod(num * 1_000_000_000, den)
    if rest:
        raise ConversionError("value is too precise")
    return ((nano + (1 << 63)) % (1 << 64)) - (1 << 63)


DECIMAL = Kind("decimal", parse_cpus, show=lambda v: "" if not v else str(v), default=0)


# ---------------------------------------------------------------- ulimits

ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")


class Ulimit(tuple):
    """name=soft:hard, as `--ulimit` gives it; a tuple (name, soft, hard)."""

    __slots__ = ()

    def __new__(cls, name, soft, hard):
        return tuple.__new__(cls, (name, soft, hard))

    name = property(lambda self: self[0])
    soft = property(lambda self: self[1])
    hard = property(lambda self: self[2])

    def __str__(self):
        return f"{self[0]}={self[1]}:{self[2]}"

    def to_api(self) -> dict:
        return {"Name": self[0], "Hard": self[2], "Soft": self[1]}


def parse_ulimit(text: str) -> Ulimit:
    """`nofile=1024:2048` or `nofile=1024`, as docker checks it."""
    name, eq, limits = text.partition("=")
    if not eq:
        raise ConversionError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise ConversionError(f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise ConversionError(
            f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")
    soft = parse_int(parts[0], 10, 64)
    hard = soft
    if len(parts) == 2:
        hard = parse_int(parts[1], 10, 64)
        if soft == -1 and hard != -1:
            raise ConversionError(
                "ulimit soft limit must be less than or equal to hard limit: "
                f"soft: -1 (unlimited), hard: {hard}")
        if hard != -1 and soft > hard:
            raise ConversionError(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Ulimit(name, soft, hard)


def _ulimit_entry(text):
    u = parse_ulimit(text)
    return u.name, u


def _show_ulimits(v) -> str:
    return "[" + " ".join(str(u) for u in (v or {}).values()) + "]"


ULIMIT = Kind("ulimit", _ulimit_entry, merge=_update, show=_show_ulimits, default={})


# ------------------------------------------------------------- validators
# Each takes one flag value and returns it (possibly normalised) or raises
# ValueError with docker's message.

def validate_env(text: str) -> str:
    """-e: `K=V` kept; a bare `K` takes the host's value if it has one."""
    key, eq, _ = text.partition("=")
    if key == "":
        raise ConversionError("invalid environment variable: " + text)
    if eq:
        return text
    value = os.environ.get(key)
    return text if value is None else key + "=" + value


def validate_label(text: str) -> str:
    if text.partition("=")[0].strip() == "":
        raise ConversionError(f"invalid label '{text}': empty name")
    return text


def validate_ip(text: str) -> str:
    """--dns: an IPv4 or IPv6 address, returned in canonical form."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ConversionError(f"IP address is not correctly formatted: {text}") from None


def validate_extra_host(text: str) -> str:
    """--add-host: `name:ip` or `name=ip` (ip may be [bracketed] or host-gateway)."""
    name, eq, addr = text.partition("=")
    if not eq:
        name, eq, addr = text.partition(":")
    if not eq or not name:
        raise ConversionError(f"bad format for add-host: {quote(text)}")
    if addr != "host-gateway":
        if len(addr) > 2 and addr[0] == "[" and addr[-1] == "]":
            addr = addr[1:-1]
        try:
            validate_ip(addr)
        except ValueError:
            raise ConversionError(f"invalid IP address in add-host: {quote(addr)}") from None
    return name + ":" + addr


def validate_dns_search(text: str) -> str:
    value = text.strip(" ")
    if value == ".":
        return value
    labels = value.split(".")
    ok = len(value) <= 255 and any(c.isalpha() and c.isascii() for c in value)
    for label in labels:
        if (not label or label[0] == "-" or label[-1] == "-"
                or not label.replace("-", "").isalnum() or not label.isascii()):
            ok = False
    if not ok:
        raise ConversionError(f"{value} is not a valid domain")
    return value


_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def validate_sysctl(text: str) -> str:
    """--sysctl: the namespaced ones docker allows (IPC set, net.*, fs.mqueue.*)."""
    key = text.partition("=")[0]
    if key in _IPC_SYSCTLS or key.startswith(("net.", "fs.mqueue.")):
        return text
    raise ConversionError(f"sysctl '{text}' is not allowed")


def validate_link(text: str) -> str:
    if len(text.split(":")) > 2:
        raise ConversionError(f"bad format for links: {text}")
    return text


__all__ = [
    "Kind", "ConversionError", "BOOL", "STRING", "INT", "INT64", "INT32", "UINT", "UINT64",
    "UINT16", "UINT32", "FLOAT", "DURATION", "STRING_SLICE", "STRING_ARRAY", "LIST", "MAP",
    "FILTER", "BYTES", "SWAP_BYTES", "DECIMAL", "ULIMIT", "Ulimit", "read_csv_record",
    "map_entry", "parse_filter", "ram_in_bytes", "from_human_size", "swap_bytes",
    "parse_cpus", "parse_ulimit", "validate_env", "validate_label", "validate_ip",
    "validate_extra_host", "validate_dns_search", "validate_sysctl", "validate_link",
    "parse_bool", "parse_int", "parse_uint", "parse_float", "parse_duration",
]
