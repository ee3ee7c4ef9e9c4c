"""`--help` text laid out as the docker CLI lays it out.

    Usage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]

    Remove one or more containers

    Aliases:
      docker container rm, docker container remove, docker rm

    Options:
      -f, --force     Force the removal of a running container (uses SIGKILL)

A command with subcommands shows "Usage:  PATH [OPTIONS] COMMAND" and its
subcommands (the root in sections: Common, Management, Swarm, Commands, then
"Global Options"); option descriptions wrap as pflag wraps them, to the
terminal's width less one (79 when there is no terminal).
"""

import os

from .command import flagset_for, use_line


def help_columns() -> int:
    """docker's width for --help: standard input's terminal width - 1, or 79."""
    try:
        width = os.get_terminal_size(0).columns
    except OSError:
        width = 80
    return (width or 80) - 1


def mount_path(m) -> str:
    """The full path of a mount (its parent reached by the parent's first mount)."""
    names = [m.name]
    parent = m.parent
    while parent is not None and parent.mounts:
        names.append(parent.mounts[0].name)
        parent = parent.mounts[0].parent
    if parent is not None:
        names.append(parent.name)
    return " ".join(reversed(names))


def aliases_line(cmd) -> str:
    """The "Aliases:" line: every mount's path, the first one's aliases too."""
    if cmd.aliases_text is not None:
        return cmd.aliases_text
    names = []
    for i, m in enumerate(cmd.mounts):
        path = mount_path(m)
        names.append(path)
        if i == 0:
            base = path[: len(path) - len(m.name)]
            names.extend(base + a for a in m.aliases)
    return ", ".join(names) if len(names) > 1 else ""


def _listing(cmd):
    """The subcommand sections, in docker's order, as (title, mounts)."""
    visible = [m for m in cmd.children if not m.hidden]
    top = sorted((m for m in visible if m.top), key=lambda m: m.top)
    rest = sorted((m for m in visible if not m.top), key=lambda m: m.name)
    swarm = [m for m in rest if m.command.group == "swarm"]
    rest = [m for m in rest if m.command.group != "swarm"]
    mgmt = [m for m in rest if m.command.children]
    ops = [m for m in rest if not m.command.children]
    return (("Common Commands", top), ("Management Commands", mgmt),
            ("Swarm Commands", swarm), ("Commands", ops))


def render_help(chain, cols=None) -> str:
    """The whole --help text of chain[-1] (a tuple of Mounts from the root)."""
    if cols is None:
        cols = help_columns()
    cmd = chain[-1].command
    fs = flagset_for(chain, {})
    has_flags = fs.has_visible()
    path = " ".join(m.name for m in chain)
    if cmd.children:
        usage = path + (" [OPTIONS]" if has_flags else "") + " COMMAND"
    else:
        usage = use_line(chain)
    parts = [f"Usage:  {usage}", (cmd.long or cmd.short).strip()]
    aliases = aliases_line(cmd)
    if aliases:
        parts.append("Aliases:\n  " + aliases)
    if cmd.example:
        parts.append("Examples:\n" + cmd.example)
    if len(chain) > 1 and has_flags:
        parts.append("Options:\n" + fs.usages(cols).rstrip())
    if cmd.children:
        pad = max([11] + [len(m.name) for m in cmd.children])
        for title, mounts in _listing(cmd):
            if mounts:
                parts.append(title + ":\n" + "\n".join(
                    f"  {m.name.ljust(pad)} {m.command.short}" for m in mounts))
    if len(chain) == 1 and has_flags:
        parts.append("Global Options:\n" + fs.usages(cols).rstrip())
    if cmd.children:
        parts.append(f"Run '{path} COMMAND --help' for more information on a command.")
    if len(chain) == 1 and cmd.footer:
        parts.append(cmd.footer)
    return "\n\n".join(parts) + "\n"
