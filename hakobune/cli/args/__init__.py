"""The `hakobune` command line's parser: docker's commands and flags, parsed
as the docker CLI (cobra + spf13/pflag) parses them, with its messages and
exit statuses.

Declaring a command::

    from hakobune.cli.args import Command, Flag, min_args, kinds

    RM = Command("rm [OPTIONS] CONTAINER [CONTAINER...]",
                 "Remove one or more containers",
                 aliases=("remove",), args=min_args(1),
                 flags=[Flag.bool("force", "f", "Force the removal ..."),
                        Flag.list("env", "e", "Set environment variables",
                                  convert=kinds.validate_env)],
                 run="hakobune.cli.container:rm")      # imported on use

    root = make_root()
    container = root.add(Command("container", "Manage containers"))
    container.add(RM)
    root.add(RM)                                        # `hakobune rm` too

Running it::

    status = execute(root, sys.argv[1:])   # run(inv) gets an Invocation:
                                           # inv.opts.force, inv.args, ...

`parse(root, argv)` alone gives the Invocation or raises a `UsageError`
(a hakobune.errors.InvalidArgument) whose str() is docker's text and whose
`exit_code` is docker's status: 125 for flag errors, 1 for the rest.

Modules: `gosyntax` (Go's number, bool and duration syntax and %q),
`kinds` (value kinds and docker's converters), `flags` (pflag's rules),
`command` (the tree, traversal, argument checks, errors), `helptext`,
`root` (global flags), `dispatch` (execute).
"""

from hakobune.createbody import kinds
from .command import (
    EXIT_FLAG_ERROR, EXIT_USAGE_ERROR, ArgumentError, Command, FlagError, Invocation,
    UnknownCommand, UnknownHelpTopic, UsageError, cobra_exact_args, cobra_max_args,
    cobra_min_args, cobra_no_args, cobra_range_args, exact_args, exit_status, max_args,
    min_args, no_args, parse, range_args,
)
from .dispatch import execute
from .flags import Flag, FlagSet, Values
from .helptext import render_help
from .root import make_root

__all__ = [
    "kinds", "Command", "Flag", "FlagSet", "Values", "Invocation", "parse", "execute",
    "render_help", "make_root", "UsageError", "FlagError", "ArgumentError", "UnknownCommand",
    "UnknownHelpTopic", "exit_status", "EXIT_FLAG_ERROR", "EXIT_USAGE_ERROR",
    "no_args", "min_args", "max_args", "exact_args", "range_args", "cobra_no_args",
    "cobra_exact_args", "cobra_min_args", "cobra_max_args", "cobra_range_args",
]
