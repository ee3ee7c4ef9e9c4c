"""The image commands: images/image ls, image inspect, inspect, history, tag,
rmi, image prune, import, save, load.  Each handler parses what the parser
left, calls the Engine and formats as the docker CLI does (its formatter
package: human sizes, "2 weeks ago", truncated ids, `<none>` rows)."""

import os
import sys
import time

from hakobune._humanize import human_duration  # noqa: F401 - the commands import it from here

IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_DIGEST_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                  "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                  "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
                  "VirtualSize": "VIRTUAL SIZE"}
HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}
QUIET_FORMAT = "{{.ID}}"


def engine_of(inv):
    """The engine a command works on: a server's API (hakobune.client) when
    -H/--host, --context, DOCKER_HOST or DOCKER_CONTEXT ask for one, else
    the local, daemonless engine (whose hot path never imports the client)."""
    g = inv.globals
    if g.host or g.context or os.environ.get("DOCKER_HOST") or os.environ.get("DOCKER_CONTEXT"):
        engine = _remote_engine_of(inv)
        if engine is not None:
            return engine
    return local_engine_of(inv)


ROOTLESS_MESSAGE = (
    "hakobune: the local engine needs root (there is no rootless mode yet).\n"
    "As another user, talk to a hakobune server instead: run `hakobune serve` as root (it listens on "
    "/run/hakobune/hakobune.sock; `--group NAME` opens the socket to a group), then use\n"
    "  hakobune -H unix:///run/hakobune/hakobune.sock COMMAND\n"
    "or export DOCKER_HOST=unix:///run/hakobune/hakobune.sock")


def local_engine_of(inv):
    """The embedded engine over --root/--runroot (root only)."""
    if os.geteuid() != 0:
        from hakobune.cli.main import CLIError

        raise CLIError(ROOTLESS_MESSAGE, 125)
    from hakobune.engine.engine import Engine

    g = inv.globals
    return Engine(os.path.abspath(g.root), os.path.abspath(g.runroot))


_REMOTE: list = []  # (invocation, RemoteEngine): one client per command, however often handlers ask


def _remote_engine_of(inv):
    if _REMOTE and _REMOTE[0][0] is inv:
        return _REMOTE[0][1]
    from hakobune.client import remote_engine

    engine = remote_engine(inv)
    _REMOTE[:] = [(inv, engine)]
    return engine


def filters_of(pairs) -> dict:
    """--filter name=value pairs as the API's filter arguments."""
    filters: dict[str, list[str]] = {}
    for name, value in pairs or ():
        filters.setdefault(name, []).append(value)
    return filters


# --- docker's units (go-units) --------------------------------------------------

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: "1.98MB", "14B" (HumanSize is precision 4)."""
    size = float(size)
    i = 0
    while size >= 1000.0 and i < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[i]}"


def since(unix: int) -> str:
    return human_duration(time.time() - unix) + " ago"


def go_time_string(unix: int) -> str:
    """Go's time.Unix(n, 0).String() in the local zone: "2024-01-31 13:51:35 +0000 UTC"."""
    t = time.localtime(unix)
    return time.strftime("%Y-%m-%d %H:%M:%S %z ", t) + (t.tm_zone or "")


def rfc3339(unix: int) -> str:
    """Go's time.Unix(n, 0).Format(time.RFC3339) in the local zone."""
    t = time.localtime(unix)
    offset = t.tm_gmtoff or 0
    if offset == 0:
        zone = "Z"
    else:
        sign = "+" if offset > 0 else "-"
        zone = f"{sign}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + zone


def truncate_id(image_id: str) -> str:
    return image_id.partition(":")[2][:12] if ":" in image_id else image_id[:12]


def ellipsis(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[:width - 1] + "\u2026"


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def render(format_text: str, rows, headers, default_table: str) -> str:
    from hakobune.cli.template.table import Row, render_rows

    return render_rows(format_text, [Row(r) for r in rows], headers=headers, default_table=default_table)


# --- images ----------------------------------------------------------------------

def _image_rows(summaries, trunc: bool, digests: bool):
    """docker's imageFormat: a row per repository:tag (per digest with
    --digests), `<none>` for dangling images and digest-only names."""
    from hakobune.oci.reference import parse_named

    for s in summaries:
        tags, digs = s.get("RepoTags") or [], s.get("RepoDigests") or []
        dangling = (not tags and not digs) or (tags == ["<none>:<none>"] and digs == ["<none>@<none>"])
        if dangling:
            yield _image_row(s, "<none>", "<none>", "<none>", trunc)
            continue
        repo_tags: dict[str, list[str]] = {}
        repo_digests: dict[str, list[str]] = {}
        for text in tags:
            try:
                ref = parse_named(text)
            except Exception:  # noqa: BLE001 - docker skips what does not parse
                continue
            if ref.tag:
                repo_tags.setdefault(ref.familiar_name, []).append(ref.tag)
        for text in digs:
            try:
                ref = parse_named(text)
            except Exception:  # noqa: BLE001
                continue
            if ref.digest:
                repo_digests.setdefault(ref.familiar_name, []).append(ref.digest)
        for repo, repo_tag_list in repo_tags.items():
            ds = repo_digests.pop(repo, [])
            if not digests:
                ds = []
            for tag in repo_tag_list:
                if not ds:
                    yield _image_row(s, repo, tag, "<none>", trunc)
                for d in ds:
                    yield _image_row(s, repo, tag, d, trunc)
        for repo, ds in repo_digests.items():
            if digests:
                for d in ds:
                    yield _image_row(s, repo, "<none>", d, trunc)
            else:
                yield _image_row(s, repo, "<none>", "", trunc)


def _image_row(s: dict, repo: str, tag: str, digest: str, trunc: bool) -> dict:
    size, shared, containers = s["Size"], s.get("SharedSize", -1), s.get("Containers", -1)
    return {
        "ID": truncate_id(s["Id"]) if trunc else s["Id"],
        "Repository": repo, "Tag": tag, "Digest": digest,
        "CreatedSince": since(s["Created"]), "CreatedAt": go_time_string(s["Created"]),
        "Size": human_size(size, 3), "VirtualSize": human_size(s.get("VirtualSize", size)),
        "Containers": "N/A" if containers == -1 else str(containers),
        "SharedSize": "N/A" if shared == -1 else human_size(shared, 3),
        "UniqueSize": "N/A" if shared == -1 else human_size(size - shared, 3),
    }


def images(inv):
    o = inv.opts
    filters = filters_of(o.filter)
    if inv.args:
        filters.setdefault("reference", []).append(inv.args[0])
    summaries = engine_of(inv).images(all=o.all, filters=filters)
    fmt = o.format
    if not fmt:
        fmt = "table"
    if fmt == "table":
        fmt = QUIET_FORMAT if o.quiet else (IMAGES_DIGEST_TABLE if o.digests else IMAGES_TABLE)
    write(render(fmt, _image_rows(summaries, not o.no_trunc, o.digests), IMAGES_HEADERS, IMAGES_TABLE))
    return 0


# --- inspect -----------------------------------------------------------------------

def inspect_json(elements) -> str:
    """docker's IndentedInspector: the API's JSON (Go's HTML escapes) indented by 4."""
    import json

    text = json.dumps(list(elements), indent=4, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text + "\n"


def _inspect(elements_and_errors, format_text: str) -> int:
    """Print what was found, then the errors; docker's status is 1 if any failed."""
    elements = [e for e, _ in elements_and_errors if e is not None]
    errors = [err for _, err in elements_and_errors if err is not None]
    if format_text and format_text != "json":
        from hakobune.cli.template import Template

        if format_text.startswith("table"):
            format_text = format_text[len("table"):]
        template = Template.parse(format_text.strip(" ").replace("\\t", "\t").replace("\\n", "\n"))
        out = "".join(template.execute(e) + "\n" for e in elements)
    else:
        out = inspect_json(elements)
    write(out)
    if errors:
        from hakobune.cli.main import CLIError

        raise CLIError("\n".join(errors), 1)
    return 0


def inspect_each(names, lookup, format_text: str) -> int:
    """`docker X inspect A B ...`: lookup(name) for each name; the objects
    found printed, then the errors (Docker's status 1 if any)."""
    from hakobune.errors import HakobuneError

    results = []
    for name in names:
        try:
            results.append((lookup(name), None))
        except HakobuneError as e:
            results.append((None, f"Error response from daemon: {e}"))
    return _inspect(results, format_text)


def image_inspect(inv):
    return inspect_each(inv.args, engine_of(inv).image_inspect, inv.opts.format)


def inspect(inv):
    engine = engine_of(inv)
    from hakobune.errors import HakobuneError, InvalidArgument, NotFound

    kind = inv.opts.type
    if kind and kind not in ("config", "container", "image", "network", "node", "plugin", "secret",
                             "service", "task", "volume"):
        from hakobune.cli.main import CLIError

        raise CLIError(f'"{kind}" is not a valid value for --type', 1)
    results = []
    for name in inv.args:
        try:
            results.append((engine.inspect_any(name, kind or None)[1], None))
        except NotFound as e:
            if kind == "image":
                results.append((None, f"Error response from daemon: {e}"))
            elif kind:  # the other kinds' stores arrive with their issues
                results.append((None, f"Error response from daemon: No such {kind}: {name}"))
            else:
                results.append((None, f"Error: {e}"))
        except (InvalidArgument, HakobuneError) as e:
            results.append((None, f"Error response from daemon: {e}"))
    return _inspect(results, inv.opts.format)


# --- history -----------------------------------------------------------------------

def history(inv):
    o = inv.opts
    entries = engine_of(inv).history(inv.args[0])
    trunc, human = not o.no_trunc, o.human
    rows = []
    for h in entries:
        created_by = h["CreatedBy"].replace("\t", " ")
        rows.append({
            "ID": truncate_id(h["Id"]) if trunc and h["Id"] != "<missing>" else h["Id"],
            "CreatedSince": since(h["Created"]) if human else rfc3339(h["Created"]),
            "CreatedAt": rfc3339(h["Created"]),
            "CreatedBy": ellipsis(created_by, 45) if trunc else created_by,
            "Size": human_size(h["Size"], 3) if human else str(h["Size"]),
            "Comment": h["Comment"],
        })
    fmt = o.format or "table"
    if fmt == "table":
        fmt = QUIET_FORMAT if o.quiet else HISTORY_TABLE
    write(render(fmt, rows, HISTORY_HEADERS, HISTORY_TABLE))
    return 0


# --- names ---------------------------------------------------------------------------

def tag(inv):
    from hakobune.cli.main import CLIError
    from hakobune.errors import InvalidArgument
    from hakobune.oci.reference import parse_named

    target = inv.args[1]
    try:
        ref = parse_named(target)
    except InvalidArgument as e:
        raise CLIError(f"Error parsing reference: {_go_quote(target)} is not a valid repository/tag: {e}", 1) from None
    if ref.digest is not None:
        raise CLIError("refusing to create a tag with a digest reference", 1)
    engine_of(inv).tag(inv.args[0], target)
    return 0


def rmi(inv):
    items, errors = engine_of(inv).remove_images(inv.args, force=inv.opts.force, no_prune=inv.opts.no_prune)
    out = []
    for item in items:
        if item.get("Deleted"):
            out.append(f"Deleted: {item['Deleted']}\n")
        else:
            out.append(f"Untagged: {item['Untagged']}\n")
    write("".join(out))
    if errors:
        from hakobune.cli.main import CLIError

        raise CLIError("\n".join(f"Error response from daemon: {e}" for e in errors), 1)
    return 0


def prune(inv):
    o = inv.opts
    if not o.force:
        warning = ("WARNING! This will remove all images without at least one container associated to them."
                   if o.all else "WARNING! This will remove all dangling images.")
        write(warning + "\nAre you sure you want to continue? [y/N] ")
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    report = engine_of(inv).prune_images(all=o.all, filters=filters_of(o.filter))
    out = ""
    deleted = report.get("ImagesDeleted") or []
    if deleted:
        lines = ["Deleted Images:\n"]
        for item in deleted:
            if item.get("Untagged"):
                lines.append(f"untagged: {item['Untagged']}\n")
            if item.get("Deleted"):
                lines.append(f"deleted: {item['Deleted']}\n")
        out = "".join(lines) + "\n"
    write(out + f"Total reclaimed space: {human_size(report.get('SpaceReclaimed', 0))}\n")
    return 0


# --- archives ----------------------------------------------------------------------

def import_(inv):
    from hakobune.cli.main import CLIError

    source = inv.args[0]
    reference = inv.args[1] if len(inv.args) > 1 else None
    if reference:
        from hakobune.errors import InvalidArgument
        from hakobune.oci.reference import parse_named

        try:
            parse_named(reference)
        except InvalidArgument as e:
            raise CLIError(str(e), 1) from None
    engine = engine_of(inv)
    if source == "-":
        image_id = engine.import_image(sys.stdin.buffer, reference, inv.opts.change, inv.opts.message)
    elif "://" in source:
        raise CLIError(f"importing from a URL is not supported: {source}", 1)
    else:
        try:
            f = open(source, "rb")
        except OSError as e:
            raise CLIError(f"open {source}: {_strerror(e)}", 1) from None
        with f:
            image_id = engine.import_image(f, reference, inv.opts.change, inv.opts.message)
    write(image_id + "\n")
    return 0


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strerror(e: OSError) -> str:
    return (e.strerror or str(e)).lower() if e.errno else str(e)


def save(inv):
    from hakobune.cli.main import CLIError

    output = inv.opts.output
    engine = engine_of(inv)
    if not output:
        if sys.stdout.isatty():
            raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect", 1)
        sys.stdout.flush()
        engine.save_images(inv.args, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise CLIError(f'failed to save image: invalid output path: directory "{directory}" does not exist', 1)
    temporary = os.path.join(directory, f".docker_temp_{os.getpid()}_{os.path.basename(output)}")
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            engine.save_images(inv.args, f)
        os.replace(temporary, output)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return 0


def load(inv):
    from hakobune.cli.main import CLIError

    source = inv.opts.input
    engine = engine_of(inv)
    if source:
        try:
            f = open(source, "rb")
        except OSError as e:
            raise CLIError(f"open {source}: {_strerror(e)}", 1) from None
        with f:
            messages = engine.load_images(f, quiet=inv.opts.quiet)
    else:
        if sys.stdin.isatty():
            raise CLIError("requested load from stdin, but stdin is empty", 1)
        messages = engine.load_images(sys.stdin.buffer, quiet=inv.opts.quiet)
    write("".join(m + "\n" for m in messages))
    return 0
