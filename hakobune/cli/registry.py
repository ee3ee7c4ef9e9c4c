"""The registry commands: pull, push, login, logout; and `system check` (a
hakobune extension).  Progress is printed as the docker CLI prints its
JSON message stream when stdout is no terminal: one line per message,
``<short id>: <status>`` for a layer's, progress bars left out; on a
terminal, a line per layer updated in place (`hakobune.cli.progress`)."""

import sys

from hakobune.cli.images import engine_of, write

# Messages that docker sends only with a progress bar, which it leaves out
# when stdout is no terminal.
_PROGRESS_ONLY = {"Downloading", "Extracting", "Pushing"}


class _Lines:
    """Prints progress messages as plain lines, from any thread."""

    def __init__(self, quiet: bool):
        import threading

        self.quiet = quiet
        self.lock = threading.Lock()

    def __call__(self, status: str, ident: str | None = None) -> None:
        if self.quiet or status in _PROGRESS_ONLY:
            return
        line = f"{ident}: {status}\n" if ident else f"{status}\n"
        with self.lock:
            sys.stdout.write(line)
            sys.stdout.flush()


def _progress(quiet: bool):
    from hakobune.cli.progress import for_stdout
    return for_stdout(sys.stdout, quiet) or _Lines(quiet)


def pull(inv):
    from hakobune.cli.main import CLIError
    from hakobune.errors import InvalidArgument
    from hakobune.oci.reference import parse_named, parse_pull_target

    text = inv.args[0]
    try:
        named = parse_named(text)
        target = parse_pull_target(text)
    except InvalidArgument as e:
        raise CLIError(str(e), 1) from None
    quiet = inv.opts.quiet
    if inv.opts.all_tags:
        if not named.is_name_only:
            raise CLIError("tag can't be used with --all-tags/-a", 1)
        engine_of(inv).pull_all_tags(text, platform=inv.opts.platform or None, progress=_progress(quiet))
        write(f"{named}\n")
        return 0
    if named.is_name_only and not quiet:
        write("Using default tag: latest\n")
    engine_of(inv).pull(text, platform=inv.opts.platform or None, progress=_progress(quiet))
    write(f"{target}\n")
    return 0


def push(inv):
    from hakobune.cli.main import CLIError
    from hakobune.errors import InvalidArgument
    from hakobune.oci.reference import parse_named

    text = inv.args[0]
    try:
        named = parse_named(text)
    except InvalidArgument as e:
        raise CLIError(str(e), 1) from None
    quiet = inv.opts.quiet
    if inv.opts.all_tags:
        if not named.is_name_only:
            raise CLIError("tag can't be used with --all-tags/-a", 1)
        engine_of(inv).push_all_tags(text, progress=_progress(quiet))
        if quiet:
            write(f"{named}\n")
        return 0
    if named.is_name_only and not quiet:
        write("Using default tag: latest\n")
    engine_of(inv).push(text, progress=_progress(quiet))
    if quiet:
        write(f"{named if not named.is_name_only else named.with_tag('latest')}\n")
    return 0


def login(inv):
    from hakobune.cli.main import CLIError

    o = inv.opts
    server = inv.args[0] if inv.args else ""
    username, password = o.username or "", o.password or ""
    if password and o.password_stdin:
        raise CLIError("--password and --password-stdin are mutually exclusive", 1)
    if o.password_stdin:
        if not username:
            raise CLIError("Must provide --username with --password-stdin", 1)
        password = sys.stdin.read()
        password = password.rstrip("\n").rstrip("\r")
    elif password:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if not username or not password:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device", 1)
        username, password = _prompt(username, password)
    engine = engine_of(inv)
    engine.login(server, username, password)
    sys.stderr.write(f"\nWARNING! Your credentials are stored unencrypted in '{engine.credentials_file()}'.\n"
                     "Configure a credential helper to remove this warning. See\n"
                     "https://docs.docker.com/go/credential-store/\n\n")
    sys.stderr.flush()
    write("Login Succeeded\n")
    return 0


def _prompt(username: str, password: str) -> tuple[str, str]:
    from hakobune.cli.main import CLIError

    if not username:
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        username = sys.stdin.readline().strip()
        if not username:
            raise CLIError("Error: Non-null Username Required", 1)
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
        if not password:
            raise CLIError("Error: Password Required", 1)
    return username, password


def logout(inv):
    from hakobune.engine.engine import registry_server

    server = inv.args[0] if inv.args else ""
    host = registry_server(server)
    shown = "https://index.docker.io/v1/" if host == "docker.io" else host
    if engine_of(inv).logout(server):
        write(f"Removing login credentials for {shown}\n")
    else:
        write(f"Not logged in to {shown}\n")
    return 0


def check(inv):
    problems = engine_of(inv).system_check()
    if not problems:
        write("OK\n")
        return 0
    write("".join(f"{problem}\n" for problem in problems))
    return 1

