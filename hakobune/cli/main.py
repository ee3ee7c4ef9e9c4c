"""`hakobune`: the daemonless command line.

For now it knows the global options that every later command shares
(--root/--runroot and their environment variables, as Podman takes them) and
`version`; the container commands arrive with the containers issue.
"""

import os
import sys

DEFAULT_ROOT = "/var/lib/hakobune"
DEFAULT_RUNROOT = "/run/hakobune"


class GlobalOptions:
    def __init__(self, root: str, runroot: str):
        self.root = root
        self.runroot = runroot


def parse_globals(argv: list[str]) -> tuple[GlobalOptions, list[str]]:
    root = os.environ.get("HAKOBUNE_ROOT", DEFAULT_ROOT)
    runroot = os.environ.get("HAKOBUNE_RUNROOT", DEFAULT_RUNROOT)
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        name, eq, value = rest.pop(0).partition("=")
        if name not in ("--root", "--runroot"):
            rest.insert(0, name + eq + value)
            break
        if not eq:
            if not rest:
                raise SystemExit(f"hakobune: option {name} needs a value")
            value = rest.pop(0)
        if name == "--root":
            root = value
        else:
            runroot = value
    return GlobalOptions(os.path.abspath(root), os.path.abspath(runroot)), rest


def main(argv: list[str] | None = None) -> int:
    options, rest = parse_globals(sys.argv[1:] if argv is None else argv)
    if not rest or rest[0] in ("-h", "--help", "help"):
        print("usage: hakobune [--root DIR] [--runroot DIR] COMMAND\n"
              "commands: version, info (container commands come with the containers issue)")
        return 0
    if rest[0] in ("version", "--version", "-v"):
        from hakobune import __version__

        print(f"hakobune version {__version__}")
        return 0
    if rest[0] == "info":
        print(f"Root: {options.root}\nRunRoot: {options.runroot}")
        return 0
    sys.stderr.write(f"hakobune: '{rest[0]}' is not a hakobune command.\nSee 'hakobune --help'\n")
    return 125


if __name__ == "__main__":
    sys.exit(main())
