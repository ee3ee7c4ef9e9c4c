"""Flags and their parsing, with spf13/pflag's rules as the docker CLI has them.

- `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`;
- bundled shorthands `-itd`, and a value after the bundle: `-an5`;
- a bool takes no separate value: `--rm false` leaves `false` positional,
  `--rm=false` / `-d=false` set it (Go's ParseBool spellings);
- `--` ends the flags, a lone `-` and `` are positionals;
- not interspersed (`docker run`): the first positional ends the flags.

Errors carry pflag's exact texts (`unknown flag: --bogus`, `unknown shorthand
flag: 'z' in -z`, `flag needs an argument: 'e' in -e`, `invalid argument "x"
for "-m, --memory" flag: ...`); the command layer adds the usage lines.
"""

from hakobune.errors import HakobuneError

from hakobune.createbody import kinds as K
from hakobune.createbody.gosyntax import quote, quote_char


class FlagParseError(Exception):
    """pflag's error text, before the command adds its usage lines."""


class Flag:
    """One flag: `Flag.bool("detach", "d", "Run container in background")`.

    Keyword options: `default` (a Python value), `convert` (replaces the
    kind's converter), `dest` (attribute name in Values; defaults to the name
    with `-` as `_`), `hidden`, `deprecated` (message: the flag is hidden and
    its use prints "Flag --x has been deprecated, <message>"),
    `short_deprecated`, `no_opt` (pflag's NoOptDefVal: the value of a bare
    `--flag`), `metavar` (the type word in --help), `default_text` (the
    default as --help shows it), `show_default` (None: pflag's rule),
    `required`, `persistent` (inherited by subcommands).
    """

    __slots__ = ("name", "short", "usage", "kind", "default", "dest", "hidden", "deprecated",
                 "short_deprecated", "no_opt", "metavar", "default_text", "show_default",
                 "required", "persistent", "alias_of")

    def __init__(self, name, kind, short="", usage="", *, default=None, convert=None, dest=None,
                 hidden=False, deprecated="", short_deprecated="", no_opt=None, metavar=None,
                 default_text=None, show_default=None, required=False, persistent=False):
        if len(short) > 1:
            raise ValueError(f"shorthand {short!r} for --{name} is more than one character")
        self.name = name
        self.short = short
        self.usage = usage
        self.kind = kind if convert is None else kind.with_convert(convert)
        self.default = default
        self.dest = dest or name.replace("-", "_")
        self.hidden = hidden or bool(deprecated)
        self.deprecated = deprecated
        self.short_deprecated = short_deprecated
        self.no_opt = kind.no_opt if no_opt is None else no_opt
        self.metavar = metavar
        self.default_text = default_text
        self.show_default = show_default
        self.required = required
        self.persistent = persistent
        self.alias_of = None

    # -- constructors, one per kind ------------------------------------
    @classmethod
    def bool(cls, name, short="", usage="", **kw):
        return cls(name, K.BOOL, short, usage, **kw)

    @classmethod
    def string(cls, name, short="", usage="", **kw):
        return cls(name, K.STRING, short, usage, **kw)

    @classmethod
    def int(cls, name, short="", usage="", **kw):
        return cls(name, K.INT, short, usage, **kw)

    @classmethod
    def int32(cls, name, short="", usage="", **kw):
        return cls(name, K.INT32, short, usage, **kw)

    @classmethod
    def uint(cls, name, short="", usage="", **kw):
        return cls(name, K.UINT, short, usage, **kw)

    @classmethod
    def uint16(cls, name, short="", usage="", **kw):
        return cls(name, K.UINT16, short, usage, **kw)

    @classmethod
    def uint32(cls, name, short="", usage="", **kw):
        return cls(name, K.UINT32, short, usage, **kw)

    @classmethod
    def float(cls, name, short="", usage="", **kw):
        return cls(name, K.FLOAT, short, usage, **kw)

    @classmethod
    def duration(cls, name, short="", usage="", **kw):
        """Go durations ("10s", "1m30s"); the value is in nanoseconds."""
        return cls(name, K.DURATION, short, usage, **kw)

    @classmethod
    def list(cls, name, short="", usage="", **kw):
        """docker's ListOpts: repeatable, never split on commas; `convert`
        validates one value (e.g. kinds.validate_env)."""
        return cls(name, K.LIST, short, usage, **kw)

    @classmethod
    def string_slice(cls, name, short="", usage="", **kw):
        """pflag's StringSlice: each value is split as CSV."""
        return cls(name, K.STRING_SLICE, short, usage, **kw)

    @classmethod
    def string_array(cls, name, short="", usage="", **kw):
        """pflag's StringArray: repeatable, no splitting."""
        return cls(name, K.STRING_ARRAY, short, usage, **kw)

    @classmethod
    def map(cls, name, short="", usage="", convert=None, **kw):
        """docker's MapOpts: `k=v` into a dict; `convert` validates the text."""
        return cls(name, K.MAP, short, usage, convert=K.map_entry(convert), **kw)

    @classmethod
    def filter(cls, name, short="", usage="", **kw):
        """docker's --filter: a list of (name, value) pairs."""
        return cls(name, K.FILTER, short, usage, **kw)

    @classmethod
    def bytes(cls, name, short="", usage="", **kw):
        """docker's MemBytes ("512m", "1g"): an int of bytes."""
        return cls(name, K.BYTES, short, usage, **kw)

    @classmethod
    def swap_bytes(cls, name, short="", usage="", **kw):
        """docker's MemSwapBytes: bytes, or -1 for unlimited."""
        return cls(name, K.SWAP_BYTES, short, usage, **kw)

    @classmethod
    def cpus(cls, name, short="", usage="", **kw):
        """docker's NanoCPUs ("1.5", "1/2"): an int of 1e-9 CPUs."""
        return cls(name, K.DECIMAL, short, usage, **kw)

    @classmethod
    def ulimit(cls, name, short="", usage="", **kw):
        """docker's UlimitOpt: a dict name -> kinds.Ulimit."""
        return cls(name, K.ULIMIT, short, usage, **kw)

    @classmethod
    def alias(cls, name, target, short="", **kw):
        """Another name for `target`'s value (docker's hidden `--net`)."""
        f = cls(name, K.STRING, short, **kw)
        f.alias_of = target
        f.hidden = kw.get("hidden", True) or bool(f.deprecated)
        return f

    @classmethod
    def help(cls, short="", usage="Print usage", **kw):
        return cls("help", K.BOOL, short, usage, **kw)

    def display(self) -> str:
        """The name in pflag's messages: "-m, --memory" or "--rm"."""
        if self.short and not self.short_deprecated:
            return f"-{self.short}, --{self.name}"
        return f"--{self.name}"

    def default_value(self):
        return self.kind.initial(self.default)

    def __repr__(self):
        return f"<Flag --{self.name}>"


class Values:
    """Parsed flag values as attributes (`opts.detach`, `opts.cpu_shares`).

    `opts.changed("memory-swap")` tells whether a flag was given.
    """

    def __init__(self):
        self._changed = set()
        self._seen = set()

    def changed(self, name: str) -> bool:
        return name in self._changed

    def __getitem__(self, name):
        return getattr(self, name.replace("-", "_"))

    def __contains__(self, name):
        return hasattr(self, name.replace("-", "_"))

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self):
        return "Values(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


class FlagSet:
    """The flags one command accepts, each bound to the Values it fills."""

    def __init__(self):
        self.flags = []      # (flag, values) in declaration order
        self._by_name = {}
        self._by_short = {}

    def add(self, flag: Flag, values: Values, init: bool = True) -> bool:
        """Add a flag unless its name is taken (pflag's AddFlagSet rule)."""
        if flag.name in self._by_name:
            return False
        if flag.alias_of is not None:
            target = self._by_name.get(flag.alias_of)
            if target is None:
                raise ValueError(f"--{flag.name} is an alias of unknown --{flag.alias_of}")
            t = target[0]
            flag.kind, flag.dest, flag.no_opt = t.kind, t.dest, t.no_opt
            flag.usage = flag.usage or t.usage
            values = target[1]
        elif init and not hasattr(values, flag.dest):
            setattr(values, flag.dest, flag.default_value())
        entry = (flag, values)
        self.flags.append(entry)
        self._by_name[flag.name] = entry
        if flag.short and flag.short not in self._by_short:
            self._by_short[flag.short] = entry
        return True

    def lookup(self, name: str):
        e = self._by_name.get(name)
        return e[0] if e else None

    def lookup_short(self, c: str):
        e = self._by_short.get(c)
        return e[0] if e else None

    def value(self, name: str):
        flag, values = self._by_name[name]
        return getattr(values, flag.dest)

    # -- parsing ----------------------------------------------------------
    def parse(self, args, interspersed=True, notices=None):
        """Parse args; returns (positionals, index of `--` among them or -1)."""
        out = []
        i, n = 0, len(args)
        while i < n:
            s = args[i]
            i += 1
            if len(s) < 2 or s[0] != "-":
                out.append(s)
                if not interspersed:
                    out.extend(args[i:])
                    break
                continue
            if s[1] == "-":
                if len(s) == 2:
                    dash = len(out)
                    out.extend(args[i:])
                    return out, dash
                i = self._parse_long(s, args, i, notices)
            else:
                i = self._parse_short(s, args, i, notices)
        return out, -1

    def _parse_long(self, s, args, i, notices):
        name = s[2:]
        if not name or name[0] in "-=":
            raise FlagParseError(f"bad flag syntax: {s}")
        name, eq, value = name.partition("=")
        entry = self._by_name.get(name)
        if entry is None:
            raise FlagParseError(f"unknown flag: --{name}")
        flag = entry[0]
        if eq:
            pass
        elif flag.no_opt is not None:
            value = flag.no_opt
        elif i < len(args):
            value = args[i]
            i += 1
        else:
            raise FlagParseError(f"flag needs an argument: {s}")
        self._set(entry, value, notices)
        return i

    def _parse_short(self, s, args, i, notices):
        shorthands = s[1:]
        while shorthands:
            c = shorthands[0]
            entry = self._by_short.get(c)
            if entry is None:
                raise FlagParseError(f"unknown shorthand flag: {quote_char(c)} in -{shorthands}")
            flag = entry[0]
            rest = ""
            if len(shorthands) > 2 and shorthands[1] == "=":
                value = shorthands[2:]
            elif flag.no_opt is not None:
                value, rest = flag.no_opt, shorthands[1:]
            elif len(shorthands) > 1:
                value = shorthands[1:]
            elif i < len(args):
                value = args[i]
                i += 1
            else:
                raise FlagParseError(f"flag needs an argument: {quote_char(c)} in -{shorthands}")
            self._set(entry, value, notices)
            if flag.short_deprecated and notices is not None:
                notices.append(f"Flag shorthand -{flag.short} has been deprecated, "
                               f"{flag.short_deprecated}")
            shorthands = rest
        return i

    def _set(self, entry, text, notices):
        flag, values = entry
        try:
            value = flag.kind.convert(text)
        except ValueError as e:
            reason = str(e)
        except HakobuneError as e:
            reason = e.message
        else:
            first = flag.dest not in values._seen
            current = getattr(values, flag.dest)
            setattr(values, flag.dest, flag.kind.merge(current, value, first))
            values._seen.add(flag.dest)
            values._changed.add(flag.name)
            if flag.alias_of:
                values._changed.add(flag.alias_of)
            if flag.deprecated and notices is not None:
                notices.append(f"Flag --{flag.name} has been deprecated, {flag.deprecated}")
            return
        raise FlagParseError(
            f"invalid argument {quote(text)} for {quote(flag.display())} flag: {reason}")

    # -- help ---------------------------------------------------------------
    def has_visible(self) -> bool:
        return any(not f.hidden for f, _ in self.flags)

    def usages(self, cols: int) -> str:
        """The option table of --help (pflag's FlagUsagesWrapped)."""
        rows = []
        width = 0
        for flag, _ in sorted(self.flags, key=lambda e: e[0].name):
            if flag.hidden:
                continue
            line = (f"  -{flag.short}, --{flag.name}" if flag.short and not flag.short_deprecated
                    else f"      --{flag.name}")
            kind = flag.kind
            var = kind.name if flag.metavar is None else flag.metavar
            if var:
                line += " " + var
            if flag.no_opt is not None and flag.no_opt != kind.no_opt:
                line += f'[="{flag.no_opt}"]' if kind.quoted else f"[={flag.no_opt}]"
            width = max(width, len(line))
            text = flag.usage
            shown = flag.default_text
            if shown is None:
                value = flag.default_value()
                shown = "" if value is None else kind.show(value)
            show = flag.show_default
            if show is None:
                show = shown not in kind.zero
            if show:
                text += f" (default {quote(shown) if kind.quoted else shown})"
            if flag.deprecated:
                text += f" (DEPRECATED: {flag.deprecated})"
            rows.append((line, text))
        out = []
        for line, text in rows:
            out.append(line + " " * (width - len(line)) + "   " + wrap(width + 3, cols, text))
        return "\n".join(out)


def _wrap_n(i: int, slop: int, s: str):
    """Split off a first line of at most i (+ slop if that ends it) chars."""
    if i + slop > len(s):
        return s, ""
    head = s[:i]
    w = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
    if w <= 0:
        return s, ""
    nl = head.rfind("\n")
    if 0 < nl < w:
        return s[:nl], s[nl + 1:]
    return s[:w], s[w + 1:]


def wrap(indent: int, cols: int, s: str) -> str:
    """pflag's usage wrapping: continuation lines indented to `indent`,
    lines kept under `cols`; a description that would get less than 24
    columns moves to its own lines at indent 16."""
    if cols == 0:
        return s.replace("\n", "\n" + " " * indent)
    avail = cols - indent
    out = ""
    if avail < 24:
        indent = 16
        avail = cols - indent
        out = "\n" + " " * indent
    if avail < 24:
        return s.replace("\n", out)
    slop = 5
    avail -= slop
    pad = "\n" + " " * indent
    line, s = _wrap_n(avail, slop, s)
    out += line.replace("\n", pad)
    while s:
        line, s = _wrap_n(avail, slop, s)
        out += pad + line.replace("\n", pad)
    return out
