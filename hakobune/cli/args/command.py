"""Commands, their tree, and docker's way of finding one and parsing its line.

A `Command` is a declaration; the same one may be mounted at several places
(`container run` and `run`; `image ls` and `images`), and messages use the
path it was reached by.  `parse(root, argv)` goes the way the docker CLI
does:

1. the global flags, up to the first positional (`hakobune -D ps`), as
   docker's own pre-parse does; then the root's `hook` (log level check);
2. down the tree as cobra's TraverseChildren does: at each level the flags
   before the subcommand's name belong to that level;
3. the command's flags (interspersed or not, per command), then --help, then
   the positional-argument check, then required flags.

Errors are `UsageError`s carrying docker's exact text and exit status.
"""

from hakobune.errors import InvalidArgument

from .flags import FlagParseError, FlagSet, Values

# One table: the exit status of each of the CLI's own errors, as docker 28
# gives them.  A flag error is cobra's FlagErrorFunc StatusError (125);
# argument-count errors, unknown commands and help topics are plain errors,
# which docker's main turns into 1.
EXIT_FLAG_ERROR = 125
EXIT_USAGE_ERROR = 1


class UsageError(InvalidArgument):
    """A command line the CLI refuses; str() is the whole text docker prints.

    `usage` is the usage line ("docker rm [OPTIONS] CONTAINER [CONTAINER...]")
    or "" when docker prints none; `command_path` the command reached;
    `exit_code` the status from the table above.
    """

    exit_code = EXIT_USAGE_ERROR

    def __init__(self, message, usage="", command_path=""):
        super().__init__(message)
        self.usage = usage
        self.command_path = command_path


class FlagError(UsageError):
    """A bad flag or flag value (exit 125); `reason` is pflag's sentence."""

    exit_code = EXIT_FLAG_ERROR

    def __init__(self, reason, usage, command_path):
        super().__init__(f"{reason}\n\nUsage:  {usage}\n\n"
                         f"Run '{command_path} --help' for more information",
                         usage, command_path)
        self.reason = reason


class ArgumentError(UsageError):
    """Wrong number of positional arguments, or a required flag missing."""


class UnknownCommand(UsageError):
    """No such command or subcommand."""


class UnknownHelpTopic(UsageError):
    """`help NAME` for a NAME that is no command."""


def exit_status(err: BaseException) -> int:
    """The exit status of a UsageError; 125 (docker's "the CLI failed") for
    any other error that has no `exit_code` of its own."""
    return getattr(err, "exit_code", EXIT_FLAG_ERROR)


class Command:
    """A command: `Command("rm [OPTIONS] CONTAINER [CONTAINER...]",
    "Remove one or more containers", flags=[...], args=min_args(1),
    aliases=("remove",), run="hakobune.cli.container:rm")`.

    - `use`: cobra's Use; its first word is the name.
    - `short` / `long`: help texts (--help prints `long` if given).
    - `flags`: Flag objects; `interspersed=False` makes the first positional
      end the flags (run, create, exec: the rest goes to the container).
    - `args`: a validator from this module (`min_args(1)`, ...) or None.
    - `run`: callable(Invocation) -> exit status, or "module:function",
      imported only when the command runs.
    - `commands`: subcommands; a command with subcommands and no `run`
      is a management command (help on bare use, unknown-command errors).
    - `top`: its rank among "Common Commands" in the root's help (0: none;
      usually given per mount, `root.add(RUN, top=1)`); `group`: "swarm"
      for the "Swarm Commands" section; `hidden`: left out of listings.
    - `hook`: callable(Values), called as soon as this command's own flags
      are parsed (the root uses it to check the log level).
    - `aliases_text`: the help's "Aliases:" line, when the computed one
      (every place the command is mounted) is not what docker prints.
    """

    def __init__(self, use, short="", *, long="", flags=(), args=None, interspersed=True,
                 aliases=(), run=None, hidden=False, top=0, group=None, example="",
                 commands=(), hook=None, aliases_text=None, footer="", version=None):
        self.use = use
        self.name = use.split(None, 1)[0]
        self.short = short
        self.long = long
        self.flags = tuple(flags)
        self.args = args
        self.interspersed = interspersed
        self.aliases = tuple(aliases)
        self.run = run
        self.hidden = hidden
        self.top = top
        self.group = group
        self.example = example
        self.hook = hook
        self.aliases_text = aliases_text
        self.footer = footer
        self.version = version
        self.children = []   # Mounts, in the order added
        self.mounts = []     # where this command is mounted
        for c in commands:
            self.add(c)

    def add(self, cmd, name=None, aliases=None, top=None, hidden=None):
        """Mount `cmd` under this command, optionally under another name.

        Aliases are the command's own unless given; they apply to a mount
        under the command's own name only.  `top` and `hidden` (defaults:
        the command's) are per mount: `run` is a Common Command at the root
        but not under `container`.
        """
        name = name or cmd.name
        if aliases is None:
            aliases = cmd.aliases if name == cmd.name else ()
        m = Mount(self, cmd, name, tuple(aliases),
                  cmd.top if top is None else top, cmd.hidden if hidden is None else hidden)
        self.children.append(m)
        cmd.mounts.append(m)
        return cmd

    def find(self, name):
        for m in self.children:
            if m.name == name or name in m.aliases:
                return m
        return None

    def __repr__(self):
        return f"<Command {self.name}>"


class Mount:
    """One place a command hangs in the tree, with the name it has there."""

    __slots__ = ("parent", "command", "name", "aliases", "top", "hidden")

    def __init__(self, parent, command, name, aliases, top=0, hidden=False):
        self.parent = parent
        self.command = command
        self.name = name
        self.aliases = aliases
        self.top = top
        self.hidden = hidden


class Invocation:
    """What the command line asks for.

    `action` is "run" (call `command.run(self)`), "help" (print the help of
    `command`, to `stream`), or "version".  `path` is the names from the
    root ("hakobune", "container", "run"); `opts` the command's flags
    (inherited persistent ones included), `args` its positionals,
    `dash_at` the index in `args` where `--` was (-1: none), `globals` the
    root's flags.
    """

    __slots__ = ("root", "command", "chain", "path", "opts", "args", "dash_at", "globals",
                 "action", "stream", "flagset")

    def __init__(self, root, chain, action, opts=None, args=(), dash_at=-1, globals_=None,
                 stream="stdout", flagset=None):
        self.root = root
        self.chain = tuple(chain)
        self.command = self.chain[-1].command
        self.path = tuple(m.name for m in self.chain)
        self.action = action
        self.opts = opts
        self.args = list(args)
        self.dash_at = dash_at
        self.globals = globals_
        self.stream = stream
        self.flagset = flagset

    @property
    def command_path(self) -> str:
        return " ".join(self.path)

    @property
    def use_line(self) -> str:
        return use_line(self.chain)


def use_line(chain) -> str:
    """cobra's UseLine: the parent's path, then Use (named as mounted)."""
    m = chain[-1]
    use = m.command.use
    if m.name != m.command.name:
        use = m.name + use[len(m.command.name):]
    if len(chain) == 1:
        return use
    return " ".join(x.name for x in chain[:-1]) + " " + use


def flagset_for(chain, scopes) -> FlagSet:
    """The flags of chain[-1]: its own, then its ancestors' persistent ones."""
    fs = FlagSet()
    for depth in range(len(chain) - 1, -1, -1):
        cmd = chain[depth].command
        values = scopes.setdefault(depth, Values())
        own = depth == len(chain) - 1
        # aliases last, so that they may name a flag declared after them
        for f in sorted(cmd.flags, key=lambda f: f.alias_of is not None):
            if own or f.persistent:
                fs.add(f, values)
    return fs


# ------------------------------------------------------------ arg checks
# A validator is called as validator(invocation, args) and returns None or
# the error text.  The first five are docker's (cli/required.go), with its
# wording; the cobra_* ones are cobra's, which a few docker commands use.

def _plural(n):
    return "argument" if n == 1 else "arguments"


def _docker_msg(inv, what, see="Run"):
    bin_ = inv.path[0]
    return (f"{bin_}: '{inv.command_path}' {what}\n\nUsage:  {inv.use_line}\n\n"
            f"{see} '{inv.command_path} --help' for more information")


def no_args(inv, args):
    if args:
        return _docker_msg(inv, "accepts no arguments")
    return None


def min_args(n):
    def check(inv, args):
        if len(args) < n:
            return _docker_msg(inv, f"requires at least {n} {_plural(n)}", "See")
        return None
    return check


def max_args(n):
    def check(inv, args):
        if len(args) > n:
            # docker 28 prints "SRun" here (a stray "S" in its format string).
            return _docker_msg(inv, f"requires at most {n} {_plural(n)}", "SRun")
        return None
    return check


def exact_args(n):
    def check(inv, args):
        if len(args) != n:
            return _docker_msg(inv, f"requires {n} {_plural(n)}")
        return None
    return check


def range_args(lo, hi):
    def check(inv, args):
        if not lo <= len(args) <= hi:
            return _docker_msg(inv, f"requires at least {lo} and at most {hi} {_plural(hi)}")
        return None
    return check


def cobra_no_args(inv, args):
    if args:
        return f'unknown command "{args[0]}" for "{inv.command_path}"'
    return None


def cobra_exact_args(n):
    def check(inv, args):
        if len(args) != n:
            return f"accepts {n} arg(s), received {len(args)}"
        return None
    return check


def cobra_min_args(n):
    def check(inv, args):
        if len(args) < n:
            return f"requires at least {n} arg(s), only received {len(args)}"
        return None
    return check


def cobra_max_args(n):
    def check(inv, args):
        if len(args) > n:
            return f"accepts at most {n} arg(s), received {len(args)}"
        return None
    return check


def cobra_range_args(lo, hi):
    def check(inv, args):
        if not lo <= len(args) <= hi:
            return f"accepts between {lo} and {hi} arg(s), received {len(args)}"
        return None
    return check


# ------------------------------------------------------------ parsing

HELP_COMMAND = Command("help [command]", "Help about the command", hidden=True)


def _root_mount(root):
    return Mount(None, root, root.name, ())


def _has_no_opt(fs, name):
    f = fs.lookup(name)
    return f is not None and f.no_opt is not None


def _short_has_no_opt(fs, c):
    f = fs.lookup_short(c)
    return f is not None and f.no_opt is not None


def _is_flag_arg(arg):
    return ((len(arg) >= 3 and arg[:2] == "--")
            or (len(arg) >= 2 and arg[0] == "-" and arg[1] != "-"))


def _find(chain, name):
    m = chain[-1].command.find(name)
    if m is None and len(chain) == 1 and name == "help":
        m = Mount(chain[0].command, HELP_COMMAND, "help", (), 0, True)
    return m


def _traverse(chain, args, scopes, notices):
    """cobra's Traverse: flags before a subcommand's name are this level's.

    As cobra does, a `--flag` that takes no value (a bool) is assumed to
    stand alone, and any other flag (or an unknown one) to swallow the next
    word, so `container --bogus ls` never reaches `ls`.
    """
    while chain[-1].command.children:
        cmd = chain[-1].command
        fs = flagset_for(chain, scopes)
        flags, in_flag = [], False
        for i, arg in enumerate(args):
            if arg[:2] == "--" and "=" not in arg:
                in_flag = not _has_no_opt(fs, arg[2:])
            elif (arg[:1] == "-" and "=" not in arg and len(arg) == 2
                  and not _short_has_no_opt(fs, arg[1])):
                in_flag = True
            elif in_flag:
                in_flag = False
            elif not _is_flag_arg(arg):
                nxt = _find(chain, arg)
                if nxt is None:
                    return chain, args
                try:
                    fs.parse(flags, cmd.interspersed, notices)
                except FlagParseError as e:
                    # cobra returns this one bare: no usage lines, status 1.
                    raise UsageError(str(e), "", " ".join(m.name for m in chain)) from None
                if cmd.hook and len(chain) > 1:
                    cmd.hook(scopes[len(chain) - 1])
                args = args[i + 1:]
                chain = chain + (nxt,)
                break
            flags.append(arg)
        else:
            return chain, args
    return chain, args


def parse(root: Command, argv, notices=None) -> Invocation:
    """Parse a command line (without the program name) against `root`.

    `notices`, if given, is a list that receives (stream, text) pairs for
    the deprecation notices docker prints while parsing.
    """
    out, err = [], []
    scopes = {}
    chain = (_root_mount(root),)
    fs = flagset_for(chain, scopes)
    try:
        try:
            rest, _ = fs.parse(list(argv), False, err)
        except FlagParseError as e:
            raise FlagError(str(e), use_line(chain), root.name) from None
        if root.hook:
            root.hook(scopes[0])
        chain, rest = _traverse(chain, rest, scopes, out)
        return _execute(root, chain, rest, scopes, out)
    finally:
        if notices is not None:
            notices.extend(("stderr", t) for t in err)
            notices.extend(("stdout", t) for t in out)


def _execute(root, chain, args, scopes, notices):
    cmd = chain[-1].command
    fs = flagset_for(chain, scopes)
    path = " ".join(m.name for m in chain)
    try:
        positionals, dash = fs.parse(args, cmd.interspersed, notices)
    except FlagParseError as e:
        raise FlagError(str(e), use_line(chain), path) from None
    if cmd.hook and len(chain) > 1:
        cmd.hook(scopes[len(chain) - 1])
    inv = Invocation(root, chain, "run", _opts(fs, scopes, len(chain)), positionals, dash,
                     scopes[0], flagset=fs)
    if fs.lookup("help") is not None and fs.value("help"):
        inv.action = "help"
        return inv
    if cmd is HELP_COMMAND:
        return _help_topic(root, positionals, inv)
    if len(chain) == 1:
        if fs.lookup("version") is not None and fs.value("version"):
            inv.action = "version"
            return inv
        if positionals:
            raise UnknownCommand(
                f"{root.name}: unknown command: {root.name} {positionals[0]}\n\n"
                f"Run '{root.name} --help' for more information", "", path)
        inv.action, inv.stream = "help", "stderr"
        return inv
    if cmd.children and cmd.run is None:
        if positionals:
            raise UnknownCommand(
                f"{root.name}: unknown command: {path} {positionals[0]}\n\n"
                f"Usage:  {inv.use_line}\n\nRun '{path} --help' for more information",
                inv.use_line, path)
        inv.action, inv.stream = "help", "stderr"
        return inv
    if cmd.args is not None:
        msg = cmd.args(inv, positionals)
        if msg:
            raise ArgumentError(msg, inv.use_line, path)
    missing = [f.name for f, _ in fs.flags if f.required and not inv.opts.changed(f.name)]
    if missing:
        names = '", "'.join(missing)
        raise ArgumentError(f'required flag(s) "{names}" not set', inv.use_line, path)
    return inv


def _opts(fs, scopes, depth):
    """The leaf's Values, with the inherited persistent flags copied in."""
    own = scopes[depth - 1]
    for flag, values in fs.flags:
        if values is not own:
            setattr(own, flag.dest, getattr(values, flag.dest))
            if values.changed(flag.name):
                own._changed.add(flag.name)
    return own


def _help_topic(root, names, inv):
    chain = (_root_mount(root),)
    for name in names:
        m = _find(chain, name)
        if m is None:
            raise UnknownHelpTopic(f"unknown help topic: {name}", "", inv.command_path)
        chain = chain + (m,)
    return Invocation(root, chain, "help", inv.opts, (), -1, inv.globals)


def resolve(run):
    """A command's `run`: the callable itself, or "module:function" imported."""
    if isinstance(run, str):
        import importlib

        module, _, attr = run.partition(":")
        return getattr(importlib.import_module(module), attr)
    return run
