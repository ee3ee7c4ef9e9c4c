"""The handlers of `hakobune compose` (the tree is hakobune.cli.compose):
Docker Compose v2's output (progress lines on stderr, ` Container p-web-1  Started`,
`web-1  | ` log prefixes).  The model comes from hakobune.compose.loader; every
action goes through hakobune.compose.project (the engine's facade).  PyYAML is
imported only here, lazily."""

from __future__ import annotations

import os
import sys

PS_TABLE = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
PS_HEADERS = {"Name": "NAME", "Image": "IMAGE", "Command": "COMMAND", "Service": "SERVICE", "RunningFor": "CREATED",
              "Status": "STATUS", "Ports": "PORTS", "ID": "CONTAINER ID", "State": "STATE", "Project": "PROJECT",
              "CreatedAt": "CREATED AT", "Labels": "LABELS", "Networks": "NETWORKS"}
LS_TABLE = "table {{.Name}}\t{{.Status}}\t{{.ConfigFiles}}"
LS_HEADERS = {"Name": "NAME", "Status": "STATUS", "ConfigFiles": "CONFIG FILES"}
IMAGES_TABLE = "table {{.Container}}\t{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"
IMAGES_HEADERS = {"Container": "CONTAINER", "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                  "Size": "SIZE"}
COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


# --- shared plumbing -------------------------------------------------------------------------------------

def _error(message: str, status: int = 1):
    from hakobune.cli.main import CLIError

    return CLIError(message, status)


def _warn(text: str) -> None:
    sys.stderr.write(f"WARN[0000] {text}\n")


def _model(inv) -> dict:
    from hakobune.compose.loader import ComposeError, LoadOptions, load

    o = inv.opts
    options = LoadOptions(files=o.file or [], project_name=o.project_name or "", env_files=o.env_file or [],
                          profiles=o.profile or [], project_directory=o.project_directory or "")
    try:
        return load(options, warn=_warn)
    except ComposeError as e:
        raise _error(str(e)) from None


def _progress(kind: str, name: str, status: str) -> None:
    if kind == "Warning":
        _warn(status)
        return
    sys.stderr.write(f" {kind} {name}  {status}\n")
    sys.stderr.flush()


def _project(inv, model=None):
    from hakobune.cli.images import engine_of
    from hakobune.compose.project import Project

    quiet = (inv.opts.progress or "") == "quiet"
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # compose drives the local engine only, for now
        raise engine.unsupported()
    return Project(engine, model or _model(inv), None if quiet else _progress)


def _guarded(action):
    """Run `action()`, turning compose and engine errors into the CLI's messages."""
    from hakobune.compose.loader import ComposeError
    from hakobune.errors import HakobuneError

    try:
        return action()
    except ComposeError as e:
        raise _error(str(e)) from None
    except HakobuneError as e:
        raise _error(f"Error response from daemon: {e}") from None


def _timeout(inv):
    value = getattr(inv.opts, "timeout", -1)
    return None if value is None or value < 0 else value


# --- config ------------------------------------------------------------------------------------------------

def config(inv):
    from hakobune.compose.loader import to_yaml

    o = inv.opts
    model = _model(inv)
    if inv.args:
        project = _project(inv, model)
        keep = set(_guarded(lambda: project.selected(inv.args)))
        model["services"] = {k: v for k, v in model["services"].items() if k in keep}
    if o.quiet:
        return 0
    if o.services:
        from hakobune.compose.services import listing_order

        text = "".join(name + "\n" for name in listing_order(model))
    elif o.volumes:
        text = "".join(name + "\n" for name in model.get("volumes") or {})
    else:
        text = to_yaml(model)
    if o.output:
        with open(o.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


# --- up and down ------------------------------------------------------------------------------------------

def _scale_of(values) -> dict:
    scale = {}
    for text in values or ():
        service, equals, count = text.partition("=")
        if not equals or not count.isdigit():
            raise _error(f"invalid --scale option {text!r}: expected SERVICE=NUM")
        scale[service] = int(count)
    return scale


def up(inv):
    from hakobune.compose.project import UpOptions

    o = inv.opts
    if o.detach and (o.abort_on_container_exit or o.exit_code_from):
        raise _error("--abort-on-container-exit and --detach are incompatible")
    project = _project(inv)
    options = UpOptions(build=o.build, no_build=o.no_build, force_recreate=o.force_recreate,
                        no_recreate=o.no_recreate, no_deps=o.no_deps, remove_orphans=o.remove_orphans,
                        scale=_scale_of(o.scale), no_start=o.no_start, pull=o.pull or "missing",
                        renew_anon_volumes=o.renew_anon_volumes)
    build_output = _build_writer(sys.stderr)
    detach = o.detach or o.wait or o.no_start
    if detach:
        ids = _guarded(lambda: project.up(inv.args, options, build_output))
        if o.wait:
            _guarded(lambda: project.wait_running(ids, o.wait_timeout or None))
        return 0
    return _attached_up(inv, project, options, build_output)


def _build_writer(stream):
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write


def _attached_up(inv, project, options, build_output) -> int:
    import signal
    import threading

    o = inv.opts
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: interrupted.append(number))
    try:
        import time

        earlier = {record["Id"] for record, _ in project.containers()}
        since = time.time_ns()  # a container left running shows only its new output, as Docker Compose's
        ids = _guarded(lambda: project.up(inv.args, options, build_output))
        printer = _LogPrinter(project, color=_use_color(inv), prefix=not o.no_log_prefix)
        abort = o.abort_on_container_exit or bool(o.exit_code_from)
        followers = printer.follow_all([(i, since if i in earlier else None) for i in ids], announce_exit=True)
        stopper = None
        while any(t.is_alive() for t in followers):
            if interrupted or (abort and printer.exited):
                if interrupted:
                    sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
                else:
                    sys.stderr.write("Aborting on container exit...\n")
                sys.stderr.flush()
                stopper = threading.Thread(target=lambda: _guarded(lambda: project.stop(inv.args)), daemon=True)
                stopper.start()
                break
            for thread in followers:
                thread.join(0.1)
        if stopper is not None:
            while stopper.is_alive():
                stopper.join(0.1)
                if len(interrupted) > 1:
                    _guarded(lambda: project.kill(inv.args))
                    break
            for thread in followers:
                thread.join(5)
        printer.stop.set()
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted and not abort:
        return 130
    if o.exit_code_from:
        return _service_exit_code(project, o.exit_code_from)
    if abort and printer.first_exit is not None:
        return printer.first_exit
    return 0


def _service_exit_code(project, service: str) -> int:
    pairs = project.service_containers(service)
    if not pairs:
        raise _error(f"no such service: {service}")
    return project.engine.container_inspect(pairs[0][0]["Id"])["State"]["ExitCode"]


def _use_color(inv) -> bool:
    o = inv.opts
    if getattr(o, "no_color", False) or o.ansi == "never" or os.environ.get("NO_COLOR"):
        return False
    return o.ansi == "always" or sys.stdout.isatty()


class _LogPrinter:
    """Containers' output with Docker Compose's `service-1  | ` prefixes, one thread per container."""

    def __init__(self, project, color: bool, prefix: bool = True, timestamps: bool = False):
        import threading

        self.project = project
        self.color = color
        self.prefix = prefix
        self.timestamps = timestamps
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.exited = False
        self.first_exit = None
        self.width = 0
        self.colors: dict = {}

    def label_of(self, record: dict) -> str:
        from hakobune.compose import convert as C

        labels = record["Config"].get("Labels") or {}
        service = labels.get(C.SERVICE)
        if service and labels.get(C.ONEOFF) != "True" and not (self.project.model["services"].get(service) or {}).get(
                "container_name"):
            return f"{service}-{labels.get(C.NUMBER, '1')}"
        return record["Name"].lstrip("/")

    def prefix_of(self, label: str) -> str:
        if not self.prefix:
            return ""
        text = f"{label:<{self.width + 1}} | "  # Docker Compose: the widest name, a space, "| "
        if self.color:
            code = self.colors.setdefault(label, COLORS[len(self.colors) % len(COLORS)])
            text = f"\x1b[{code}m{text}\x1b[0m"
        return text

    def write(self, label: str, entry: dict) -> None:
        from hakobune.engine.logstream import entry_time_ns, fixed_stamp

        line = entry.get("log", "")
        if self.timestamps:
            line = fixed_stamp(entry_time_ns(entry)) + " " + line
        if not line.endswith("\n"):
            line += "\n"
        with self.lock:
            sys.stdout.write(self.prefix_of(label) + line)
            sys.stdout.flush()

    def follow_all(self, targets, announce_exit: bool = False, tail=None, follow: bool = True) -> list:
        import threading

        engine = self.project.engine
        labelled = []
        for container_id, since_ns in targets:
            record = engine.container_inspect(container_id)
            labelled.append((container_id, since_ns, self.label_of(record)))
        self.width = max([len(label) for _, _, label in labelled] + [self.width])
        threads = []
        for container_id, since_ns, label in labelled:
            thread = threading.Thread(target=self._follow,
                                      args=(container_id, label, announce_exit, tail, follow, since_ns), daemon=True)
            thread.start()
            threads.append(thread)
        return threads

    def _follow(self, container_id: str, label: str, announce_exit: bool, tail, follow: bool,
                since_ns: int | None) -> None:
        from hakobune.engine.logstream import follow_log
        from hakobune.errors import HakobuneError

        engine = self.project.engine
        try:
            for entry in follow_log(engine, container_id, since_ns=since_ns, tail=tail, follow=follow,
                                    stop=self.stop.is_set):
                self.write(label, entry)
            if not announce_exit or self.stop.is_set():
                return
            code = engine.container_inspect(container_id)["State"]["ExitCode"]
        except HakobuneError:
            return
        with self.lock:
            sys.stdout.write(f"{label} exited with code {code}\n")
            sys.stdout.flush()
            if self.first_exit is None:
                self.first_exit = code
            self.exited = True


def down(inv):
    o = inv.opts
    if o.rmi and o.rmi not in ("local", "all"):
        raise _error(f"invalid value for --rmi: {o.rmi}")
    project = _project(inv)
    _guarded(lambda: project.down(volumes=o.volumes, remove_orphans=o.remove_orphans, rmi=o.rmi or "",
                                  timeout=_timeout(inv)))
    return 0


# --- ps, ls, images, top, port ------------------------------------------------------------------------------

def ps(inv):
    from hakobune.cli.containers import _ps_row
    from hakobune.cli.images import render, write
    from hakobune.compose import convert as C
    from hakobune.engine import netsetup

    o = inv.opts
    project = _project(inv)
    if o.services:
        write("".join(name + "\n" for name in project.model["services"] if not inv.args or name in inv.args))
        return 0
    pairs = project.containers(inv.args, all=o.all, oneoff=None if o.all else False)
    rows = []
    for record, state in pairs:
        row = _ps_row(record, state, not o.no_trunc)
        row.update(netsetup.ps_columns(project.engine.root, project.engine.runroot, record, state))
        labels = record["Config"].get("Labels") or {}
        row.update({"Name": record["Name"].lstrip("/"), "Service": labels.get(C.SERVICE, ""),
                    "Project": labels.get(C.PROJECT, "")})
        rows.append(row)
    fmt = o.format or "table"
    if o.quiet:
        fmt = "{{.ID}}"
        for row in rows:
            row["ID"] = next(r["Id"] for r, _ in pairs if r["Name"].lstrip("/") == row["Name"])
    write(render(fmt, rows, PS_HEADERS, PS_TABLE))
    return 0


def ls(inv):
    from hakobune.cli.images import engine_of, render, write
    from hakobune.compose import convert as C

    o = inv.opts
    projects: dict = {}
    engine = engine_of(inv)
    if getattr(engine, "remote", False):  # compose drives the local engine only, for now
        raise engine.unsupported()
    for record, state in engine.containers(all=True, filters={"label": [C.PROJECT]}):
        labels = record["Config"].get("Labels") or {}
        entry = projects.setdefault(labels[C.PROJECT], {"states": {}, "files": labels.get(C.CONFIG_FILES, "")})
        entry["states"][state["Status"]] = entry["states"].get(state["Status"], 0) + 1
    rows = []
    for name in sorted(projects):
        states = projects[name]["states"]
        if not o.all and "running" not in states:
            continue
        status = ", ".join(f"{s}({n})" for s, n in sorted(states.items()))
        rows.append({"Name": name, "Status": status, "ConfigFiles": projects[name]["files"]})
    if o.quiet:
        write("".join(row["Name"] + "\n" for row in rows))
        return 0
    if o.format == "json":
        import json

        write(json.dumps(rows) + "\n")
        return 0
    write(render(o.format or "table", rows, LS_HEADERS, LS_TABLE))
    return 0


def images(inv):
    from hakobune.cli.images import human_size, render, write

    o = inv.opts
    project = _project(inv)
    rows = []
    for record, _ in project.containers(inv.args):
        image = project.engine.image_inspect(record["Image"]) if record.get("Image") else {}
        reference = record["Config"].get("Image") or ""
        repository, _, tag = reference.rpartition(":") if ":" in reference.rpartition("/")[2] else (reference, "",
                                                                                                      "latest")
        rows.append({"Container": record["Name"].lstrip("/"), "Repository": repository, "Tag": tag,
                     "ID": (image.get("Id") or "")[7:19], "Size": human_size(image.get("Size") or 0)})
    if o.quiet:
        write("".join(sorted({row["ID"] + "\n" for row in rows})))
        return 0
    write(render("table", rows, IMAGES_HEADERS, IMAGES_TABLE))
    return 0


def top(inv):
    from hakobune.cli.images import write
    from hakobune.cli.tabwriter import align

    project = _project(inv)
    for record, _ in project.containers(inv.args, all=False):
        result = _guarded(lambda: project.engine.top(record["Id"]))
        lines = ["\t".join(result["Titles"])] + ["\t".join(row) for row in result["Processes"]]
        write(record["Name"].lstrip("/") + "\n" + align("\n".join(lines) + "\n", 4, 1, 3, " ", 0) + "\n")
    return 0


def port(inv):
    from hakobune.cli.images import write

    o = inv.opts
    project = _project(inv)
    service, private = inv.args
    record = _pick(project, service, o.index)
    inspected = project.engine.container_inspect(record["Id"])
    key = private if "/" in private else f"{private}/{o.protocol or 'tcp'}"
    bindings = ((inspected.get("NetworkSettings") or {}).get("Ports") or {}).get(key) or []
    if not bindings:
        raise _error(f"no port {key} for container {record['Name'].lstrip('/')}")
    first = bindings[0]
    write(f"{first.get('HostIp') or '0.0.0.0'}:{first.get('HostPort')}\n")
    return 0


def _pick(project, service: str, index: int) -> dict:
    from hakobune.compose.project import number_of

    if service not in project.model["services"]:
        raise _error(f"no such service: {service}")
    pairs = project.service_containers(service, all=False)
    if not pairs:
        raise _error(f"service \"{service}\" is not running")
    if index:
        pairs = [p for p in pairs if number_of(p[0]) == index]
        if not pairs:
            raise _error(f"service \"{service}\" is not running container #{index}")
    return pairs[0][0]


# --- logs -------------------------------------------------------------------------------------------------------

def logs(inv):
    o = inv.opts
    project = _project(inv)
    tail = None
    if o.tail not in ("", "all"):
        try:
            tail = int(o.tail)
        except ValueError:
            raise _error(f"invalid --tail value {o.tail!r}") from None
        tail = None if tail < 0 else tail
    printer = _LogPrinter(project, color=_use_color(inv), prefix=not o.no_log_prefix, timestamps=o.timestamps)
    pairs = project.containers(inv.args, oneoff=None)
    if not o.follow:
        _print_merged(project, printer, pairs, tail)
        return 0
    threads = printer.follow_all([(r["Id"], None) for r, _ in pairs], tail=tail, follow=True)
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        printer.stop.set()
        return 130
    return 0


def _print_merged(project, printer, pairs, tail) -> None:
    """Every container's log, in time order."""
    from hakobune.engine.logstream import entry_time_ns, follow_log

    entries = []
    printer.width = max([len(printer.label_of(r)) for r, _ in pairs] + [0])
    for record, _ in pairs:
        label = printer.label_of(record)
        entries += [(entry_time_ns(e), index, label, e)
                    for index, e in enumerate(follow_log(project.engine, record["Id"], tail=tail))]
    for _, _, label, entry in sorted(entries, key=lambda item: (item[0], item[1])):
        printer.write(label, entry)


# --- start, stop, restart, kill, rm, pull, build -------------------------------------------------------------------

def start(inv):
    project = _project(inv)
    _guarded(lambda: project.start(inv.args))
    return 0


def stop(inv):
    project = _project(inv)
    _guarded(lambda: project.stop(inv.args, _timeout(inv)))
    return 0


def restart(inv):
    project = _project(inv)
    _guarded(lambda: project.restart(inv.args, _timeout(inv)))
    return 0


def kill(inv):
    project = _project(inv)
    signal_name = inv.opts.signal or "KILL"
    _guarded(lambda: project.kill(inv.args, signal_name[3:] if signal_name.startswith("SIG") else signal_name))
    return 0


def rm(inv):
    o = inv.opts
    project = _project(inv)
    stopped = [r for r, s in project.containers(inv.args) if not s["Running"] or o.stop]
    if not stopped:
        sys.stderr.write("No stopped containers\n")
        return 0
    if not o.force:
        names = ", ".join(r["Name"].lstrip("/") for r in stopped)
        sys.stderr.write(f"Going to remove {names}\nAre you sure? [yN] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    _guarded(lambda: project.remove_stopped(inv.args, stop=o.stop, volumes=o.volumes))
    return 0


def push(inv):
    o = inv.opts
    project = _project(inv)
    for name in _guarded(lambda: project.selected(inv.args, with_dependencies=False)):
        image = project.model["services"][name].get("image")
        if not image:
            continue
        _progress("Image", image, "Pushing")
        try:
            project.engine.push(image)
        except Exception as e:  # noqa: BLE001 - reported per image
            if not o.ignore_push_failures:
                raise _error(f"Error response from daemon: {e}") from None
            _warn(f"{image}: {e}")
            continue
        _progress("Image", image, "Pushed")
    return 0


def version(inv):
    from hakobune.compose.convert import COMPOSE_VERSION

    sys.stdout.write(COMPOSE_VERSION + "\n" if inv.opts.short else f"Docker Compose version v{COMPOSE_VERSION}\n")
    return 0


def pull(inv):
    o = inv.opts
    project = _project(inv)
    for name in _guarded(lambda: project.selected(inv.args, with_dependencies=False)):
        image = project.model["services"][name].get("image")
        if not image:
            continue
        _progress("Image", image, "Pulling")
        try:
            project.pull(name)
        except Exception as e:  # noqa: BLE001 - reported per image
            if not o.ignore_pull_failures:
                raise _error(f"Error response from daemon: {e}") from None
            _warn(f"{image}: {e}")
            continue
        _progress("Image", image, "Pulled")
    return 0


def build(inv):
    from hakobune.build.builder import BuildFailed
    from hakobune.build.errors import BuildError

    o = inv.opts
    project = _project(inv)
    output = (lambda text: None) if o.quiet else _build_writer(sys.stdout)
    for name in _guarded(lambda: project.selected(inv.args, with_dependencies=False)):
        if "build" not in project.model["services"][name]:
            continue
        try:
            _guarded(lambda: project.build(name, output, no_cache=o.no_cache, pull=o.pull))
        except (BuildFailed, BuildError) as e:
            raise _error(f"failed to solve: {e}", getattr(e, "code", 1) or 1) from None
    return 0


# --- exec and run ----------------------------------------------------------------------------------------------------

def exec_(inv):
    from hakobune.cli.processes import _relay_terminal
    from hakobune.engine.execution import ExecFailed

    o = inv.opts
    project = _project(inv)
    service, command = inv.args[0], list(inv.args[1:])
    record = _pick(project, service, o.index)
    tty = not o.no_TTY and os.isatty(0)
    try:
        process = project.engine.exec_container(
            record["Id"], command, env=list(o.env or []), workdir=o.workdir or None, user=o.user or None,
            privileged=o.privileged, tty=tty, interactive=o.interactive and not o.detach, detach=o.detach)
    except ExecFailed as e:
        raise _error(e.message, e.status) from None
    if o.detach:
        return 0
    if not tty:
        return process.wait()
    return _relay_terminal(process, o.interactive)


def run(inv):
    import secrets

    from hakobune.cli.containers import _follow_interactively, _follow_to_exit
    from hakobune.compose import convert as C
    from hakobune.compose.project import UpOptions

    o = inv.opts
    project = _project(inv)
    service, command = inv.args[0], list(inv.args[1:]) or None
    if service not in project.model["services"]:
        raise _error(f"no such service: {service}")
    model = project.model
    from hakobune.compose.services import dependencies_of

    dependencies = [d for d in dependencies_of(model["services"][service]) if d in model["services"]]
    if dependencies and not o.no_deps:
        _guarded(lambda: project.up(dependencies, UpOptions()))
    else:
        _guarded(lambda: (project.ensure_networks(), project.ensure_volumes()))
    _guarded(lambda: project.ensure_image(service, UpOptions(), _build_writer(sys.stderr)))
    _guarded(lambda: project.wait_dependencies(service) if not o.no_deps else None)
    tty = not o.no_TTY and os.isatty(0)
    interactive = tty and o.interactive and not o.detach  # -T or no terminal: stdin is not forwarded
    body = _guarded(lambda: C.create_body(model, service, 1, oneoff=True, command=command, detach=o.detach))
    body["Tty"], body["OpenStdin"] = tty, interactive
    body["AttachStdin"] = body["StdinOnce"] = interactive
    if o.entrypoint:
        import shlex

        body["Entrypoint"] = shlex.split(o.entrypoint)
    if o.user:
        body["User"] = o.user
    if o.workdir:
        body["WorkingDir"] = o.workdir
    body["Env"] = (body.get("Env") or []) + list(o.env or [])
    if not o.service_ports:
        body["HostConfig"]["PortBindings"] = {}
    body["HostConfig"]["AutoRemove"] = False
    body["HostConfig"]["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    body["Labels"][C.NUMBER] = "1"
    name = o.name or f"{model['name']}-{service}-run-{secrets.token_hex(6)}"
    for endpoint in body["NetworkingConfig"]["EndpointsConfig"].values():
        endpoint["Aliases"] = [name]  # a one-off container does not answer for the service
    engine = project.engine
    record = _guarded(lambda: engine.create_container(body, name))
    container_id = record["Id"]
    offset = engine.log_size(container_id)
    try:
        _guarded(lambda: engine.start_container(container_id))
    except BaseException:
        if o.rm:
            engine.remove_container(container_id, True)
        raise
    if o.detach:
        sys.stdout.write(name + "\n")
        return 0
    if not interactive:
        return _follow_to_exit(engine, container_id, offset, remove=o.rm)
    return _follow_interactively(engine, container_id, offset, True, "", remove=o.rm)
