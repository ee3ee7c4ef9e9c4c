"""From a command line to an exit status: parse, print, run.

    status = execute(root, sys.argv[1:])

Deprecation notices, help, version and the CLI's own errors go where docker
sends them; a command's `run` gets the Invocation and returns its status.
Errors a command raises are not caught here: the caller maps them.
"""

import sys

from .command import UsageError, parse, resolve
from .helptext import render_help


def execute(root, argv, stdout=None, stderr=None, cols=None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    notices = []
    try:
        inv = parse(root, argv, notices)
    except UsageError as e:
        _notices(notices, stdout, stderr)
        stderr.write(str(e) + "\n")
        return e.exit_code
    _notices(notices, stdout, stderr)
    if inv.action == "help":
        (stderr if inv.stream == "stderr" else stdout).write(render_help(inv.chain, cols))
        return 0
    if inv.action == "version":
        v = root.version
        stdout.write((v() if callable(v) else str(v)) + "\n")
        return 0
    if inv.command.run is None:
        stderr.write(f"{inv.command_path}: not implemented\n")
        return 1
    status = resolve(inv.command.run)(inv)
    return 0 if status is None else int(status)


def _notices(notices, stdout, stderr):
    for stream, text in notices:
        (stderr if stream == "stderr" else stdout).write(text + "\n")
