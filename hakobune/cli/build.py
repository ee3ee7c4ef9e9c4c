"""`hakobune build`: the classic builder's command line.

The context is a directory, or ``-``: a tar on stdin (plain or compressed),
or a Dockerfile on stdin with no context.  ``-f`` names another Dockerfile
(relative to the current directory, also outside the context; ``-f -``
reads it from stdin); the .dockerignore (or ``<Dockerfile>.dockerignore``)
of the context applies.  The output is the classic builder's stream
(``--progress=plain``), or on a terminal (``auto``, or ``tty``) a live display
of the steps as BuildKit's (hakobune.build.progress); ``-q`` prints only the
image id (and, if the build fails, the stream on stderr).
A failing RUN exits with its command's exit status, as docker does.
"""

import os
import sys


def build_command():
    from hakobune.cli.args import Command, Flag, exact_args

    return Command("build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", args=exact_args(1),
                   run="hakobune.cli.build:build",
                   flags=[Flag.list("build-arg", "", "Set build-time variables"),
                          Flag.list("cache-from", "", "Images to consider as cache sources"),
                          Flag.bool("explain-cache", "", "Say why each step that runs missed the cache "
                                    "(hakobune's own)"),
                          Flag.string("file", "f", "Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
                          Flag.string("iidfile", "", "Write the image ID to the file"),
                          Flag.list("label", "", "Set metadata for an image"),
                          Flag.string("network", "", "Set the networking mode for the RUN instructions during "
                                      "build", default="default"),
                          Flag.bool("no-cache", "", "Do not use cache when building the image"),
                          Flag.string("platform", "", "Set platform if server is multi-platform capable"),
                          Flag.string("progress", "", "Set type of progress output (\"auto\", \"plain\", "
                                      "\"tty\"). Use plain to show container output", default="auto"),
                          Flag.bool("pull", "", "Always attempt to pull a newer version of the image"),
                          Flag.bool("quiet", "q", "Suppress the build output and print image ID on success"),
                          Flag.list("tag", "t", "Name and optionally a tag in the \"name:tag\" format"),
                          Flag.string("target", "", "Set the target build stage to build.")])


def builder_command():
    from hakobune.cli.args import Command, Flag, no_args

    builder = Command("builder", "Manage builds")
    builder.add(Command("prune", "Remove build cache", args=no_args, run="hakobune.cli.build:prune",
                        flags=[Flag.bool("all", "a", "Remove all unused build cache, not just dangling ones"),
                               Flag.bool("force", "f", "Do not prompt for confirmation")]))
    return builder


def prune(inv):
    from hakobune.cli.images import engine_of, human_size, write

    o = inv.opts
    if not o.force:
        write("WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ")
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    report = engine_of(inv).prune_build_cache(all=o.all)
    out = ""
    if report["CachesDeleted"]:
        out = "Deleted build cache objects:\n" + "".join(f"{key}\n" for key in report["CachesDeleted"]) + "\n"
    write(out + f"Total reclaimed space: {human_size(report['SpaceReclaimed'])}\n")
    return 0


def _pairs(items, with_environment: bool) -> dict:
    """KEY=value items; a bare KEY takes the environment's value (build args)."""
    pairs = {}
    for item in items or ():
        key, has_value, value = item.partition("=")
        if has_value:
            pairs[key] = value
        elif with_environment:
            if key in os.environ:
                pairs[key] = os.environ[key]
        else:
            pairs[key] = ""
    return pairs


def build(inv):
    import tempfile

    from hakobune.cli.images import engine_of

    o = inv.opts
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # the server's /build (hakobune.client)
        from hakobune.cli import remote as commands

        return commands.build(inv, engine)
    os.makedirs(engine.root, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-context-", dir=engine.root) as scratch:
        context_dir, dockerfile_text, dockerfile_name, ignore_dockerfile = _context(inv.args[0], o.file, scratch)
        return _run_build(inv, engine, context_dir, dockerfile_text, dockerfile_name, ignore_dockerfile)


def _context(path: str, file_option: str, scratch: str):
    """(context directory, Dockerfile text, its name, its path for the ignore file)."""
    from hakobune.cli.main import CLIError

    if path == "-":
        if file_option == "-":
            raise CLIError("invalid argument: can't use stdin for both build context and dockerfile")
        return _stdin_context(file_option, scratch)
    if "://" in path or path.startswith("git@"):
        raise CLIError(f"unable to prepare context: remote contexts are not supported: {path}")
    if not os.path.isdir(path):
        raise CLIError(f'unable to prepare context: path "{path}" not found')
    context_dir = os.path.abspath(path)
    if file_option == "-":
        return context_dir, sys.stdin.buffer.read().decode(errors="replace"), "Dockerfile", None
    dockerfile = os.path.abspath(file_option) if file_option else os.path.join(context_dir, "Dockerfile")
    try:
        with open(dockerfile, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        shown = file_option or os.path.join(path, "Dockerfile")
        raise CLIError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                       f"lstat {os.path.abspath(shown)}: no such file or directory") from None
    return context_dir, text, os.path.basename(dockerfile), dockerfile


def _stdin_context(file_option: str, scratch: str):
    from hakobune.build.context import is_archive, unpack_context_tar
    from hakobune.cli.main import CLIError

    spool = os.path.join(scratch, "stdin")
    with open(spool, "wb") as out:
        while chunk := sys.stdin.buffer.read(1 << 20):
            out.write(chunk)
    context_dir = os.path.join(scratch, "context")
    os.mkdir(context_dir)
    if not is_archive(spool):
        with open(spool, "rb") as f:
            return context_dir, f.read().decode(errors="replace"), "Dockerfile", None
    with open(spool, "rb") as f:
        unpack_context_tar(f, context_dir)
    name = file_option or "Dockerfile"
    dockerfile = os.path.join(context_dir, name.lstrip("/"))
    try:
        with open(dockerfile, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        raise CLIError(f"Cannot locate specified Dockerfile: {name}") from None
    return context_dir, text, os.path.basename(name), dockerfile


def context_size(context_dir: str, patterns, dockerfile: str) -> int:
    """The size of the tar docker would send for the context: a 512-byte
    header per entry, file data padded to 512 bytes, two closing blocks."""
    from hakobune.build.ignore import files_to_send

    total = 1024
    for _, entry in files_to_send(context_dir, patterns, dockerfile or "Dockerfile"):
        total += 512
        if entry.is_file(follow_symlinks=False):
            total += (entry.stat(follow_symlinks=False).st_size + 511) // 512 * 512
    return total


def _display(progress: str):
    """The live display for ``--progress=tty`` (and ``auto`` on a terminal), else None (plain)."""
    from hakobune.cli.main import CLIError

    mode = (progress or "auto").lower()
    if mode not in ("auto", "plain", "tty"):
        raise CLIError(f'invalid progress mode "{progress}": use auto, plain or tty')
    if mode == "plain" or (mode == "auto" and not sys.stdout.isatty()):
        return None
    from hakobune.build.progress import TTYDisplay

    try:
        width = os.get_terminal_size(sys.stdout.fileno()).columns
    except OSError:
        width = 80
    return TTYDisplay(sys.stdout, width)


def _run_build(inv, engine, context_dir, dockerfile_text, dockerfile_name, dockerfile_path) -> int:
    from hakobune.build.builder import BuildFailed, BuildOptions
    from hakobune.build.errors import BuildError
    from hakobune.build.ignore import load_patterns

    o = inv.opts
    options = BuildOptions(context_dir, dockerfile_text, dockerfile_name, tags=o.tag or [],
                           build_args=_pairs(o.build_arg, True), labels=_pairs(o.label, False),
                           target=o.target or "", no_cache=o.no_cache, pull=o.pull, network=o.network,
                           platform=o.platform or "", ignore_patterns=load_patterns(context_dir, dockerfile_path),
                           explain_cache=o.explain_cache, cache_from=o.cache_from or [])
    captured: list[str] = []
    display = None if o.quiet else _display(o.progress)
    if not o.quiet and display is None:
        from hakobune.cli.images import human_size

        size = context_size(context_dir, options.ignore_patterns, dockerfile_name if dockerfile_path else "")
        sys.stdout.write(f"Sending build context to Docker daemon  {human_size(size):>7}\n\n")

    def output(text: str) -> None:
        if o.quiet:
            captured.append(text)
        elif display is not None:
            display.feed(text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        image_id = engine.build_image(options, output)
    except (BuildFailed, BuildError) as error:
        if display is not None:
            display.close(failed=True)
        sys.stdout.flush()
        if o.quiet:
            sys.stderr.write("".join(captured))
        sys.stderr.write(f"{error}\n")
        return error.code if isinstance(error, BuildFailed) else 1
    except BaseException:
        if display is not None:
            display.close(failed=True)
        raise
    if display is not None:
        display.close()
    return report_image_id(o, image_id)


def report_image_id(o, image_id: str) -> int:
    """The built image's id: on stdout with -q, into --iidfile."""
    if o.quiet:
        sys.stdout.write(image_id + "\n")
    if o.iidfile:
        with open(o.iidfile, "w") as f:
            f.write(image_id)
    return 0
