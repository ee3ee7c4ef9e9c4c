"""/containers/...: create, list, inspect, start, stop, kill, restart,
pause, unpause, wait, rename, remove, prune, logs, attach, resize, and the
filesystem endpoints (changes, export, archive).

Output to clients (logs, attach) comes from the container's json-file log,
as the CLI's own `run` reads it: nothing a container writes between its
start and an attach is lost.  Without a TTY it is multiplexed in Docker's
8-byte frames (stream id, three zeros, big-endian length).  A container
not running at the attach has its log file opened at once, so that what a
--rm container wrote is read even after it is gone; `wait` notes where the
container stands before answering, so that a run shorter than any polling
interval still ends a `next-exit` wait.
"""

from __future__ import annotations

import os
import struct
import threading
import time

from hakobune.api import http as H
from hakobune.errors import Conflict, HakobuneError, InvalidArgument, NotFound

STDOUT, STDERR = 1, 2


def register(router) -> None:
    router.add("POST", "/containers/create", create)
    router.add("GET", "/containers/json", list_containers)
    router.add("POST", "/containers/prune", prune)
    router.add("GET", "/containers/{id}/json", inspect)
    router.add("POST", "/containers/{id}/start", start)
    router.add("POST", "/containers/{id}/stop", stop)
    router.add("POST", "/containers/{id}/restart", restart)
    router.add("POST", "/containers/{id}/kill", kill)
    router.add("POST", "/containers/{id}/pause", pause)
    router.add("POST", "/containers/{id}/unpause", unpause)
    router.add("POST", "/containers/{id}/wait", wait)
    router.add("POST", "/containers/{id}/rename", rename)
    router.add("POST", "/containers/{id}/resize", resize)
    router.add("POST", "/containers/{id}/attach", attach)
    router.add("GET", "/containers/{id}/logs", logs)
    router.add("GET", "/containers/{id}/changes", changes)
    router.add("GET", "/containers/{id}/export", export)
    router.add("HEAD", "/containers/{id}/archive", archive_head)
    router.add("GET", "/containers/{id}/archive", archive_get)
    router.add("PUT", "/containers/{id}/archive", archive_put)
    router.add("DELETE", "/containers/{id}", remove)


# --- life cycle -------------------------------------------------------------------------

def create(engine, request):
    body = request.json({}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the create body must be a JSON object")
    from hakobune.api.bodycheck import check_create_body

    check_create_body(body)
    record = engine.create_container(body, name=request.arg("name") or None)
    return H.json_response({"Id": record["Id"], "Warnings": []}, 201)


def list_containers(engine, request):
    from hakobune.engine.summary import container_summary

    pairs = engine.containers(all=request.flag("all"), filters=request.filters(),
                              limit=request.integer("limit", 0) or 0)
    with_size = request.flag("size")
    summaries = []
    for record, state in pairs:
        try:
            summary = container_summary(record, state, _listed_parts(engine, record, state))
            if with_size:
                summary["SizeRw"], summary["SizeRootFs"] = engine.container_sizes(record)
        except NotFound:
            continue  # removed meanwhile
        summaries.append(summary)
    return H.json_response(summaries)


def _listed_parts(engine, record: dict, state: dict) -> dict:
    """What a summary takes from inspect (Mounts, NetworkSettings), made from
    the record and state the listing already has: a whole inspect per
    container would look each one up and reconcile it again."""
    from hakobune.engine import netsetup
    from hakobune.engine.volsetup import mount_points

    lifecycle = engine.lifecycle
    return {"Mounts": mount_points(lifecycle, record), "NetworkSettings": netsetup.network_settings(lifecycle, record,
                                                                                                    state)}


def inspect(engine, request):
    from hakobune.api.exec import live_ids

    inspected = engine.container_inspect(request.params["id"], size=request.flag("size"))
    inspected["ExecIDs"] = live_ids(inspected["Id"]) or None  # the exec instances live in this server
    return H.json_response(inspected)


def start(engine, request):
    _, started = engine.start_container(request.params["id"])
    return H.no_content(204 if started else 304)


def _timeout(request) -> float | None:
    value = request.integer("t")
    return None if value is None else float(value)


def stop(engine, request):
    name = request.params["id"]
    if not _state(engine, name)["Running"]:
        return H.no_content(304)
    engine.stop_container(name, _timeout(request), request.arg("signal") or None)
    return H.no_content()


def restart(engine, request):
    engine.restart_container(request.params["id"], _timeout(request))
    return H.no_content()


def kill(engine, request):
    engine.kill_container(request.params["id"], request.arg("signal") or "KILL")
    return H.no_content()


def pause(engine, request):
    engine.pause_container(request.params["id"])
    return H.no_content()


def unpause(engine, request):
    engine.unpause_container(request.params["id"])
    return H.no_content()


def wait(engine, request):
    """The answer's head goes at once (clients wait for it before they
    start the container); the body when the condition is met."""
    name = request.params["id"]
    condition = request.arg("condition") or "not-running"
    # a 404 before the stream; and where the container stands now, since the
    # client starts it as soon as it has the head of this answer
    baseline = engine.container_inspect(name)
    if condition not in ("not-running", "next-exit", "removed"):
        raise InvalidArgument(f"invalid condition: {condition!r}")
    container_id = baseline["Id"]

    def body():
        try:
            if condition == "next-exit":
                code = _wait_next_exit(engine, container_id, baseline["State"])
            else:
                code = engine.wait_container(container_id, condition)
            document = {"Error": None, "StatusCode": code}
        except HakobuneError as e:
            document = {"Error": {"Message": e.message}, "StatusCode": -1}
        yield from H.json_lines([document])

    return H.Stream(200, body())


def _wait_next_exit(engine, container_id: str, before: dict) -> int:
    """The exit code of the first run to end after `before` (the state when
    the wait was asked): a run shorter than any polling interval, started and
    ended before the engine's own wait began to look, still counts."""
    delay = 0.005
    while True:
        try:
            state = engine.container_inspect(container_id)["State"]
        except NotFound:
            remembered = getattr(engine.lifecycle, "_remembered_exit", None)
            return remembered(container_id, -1) if remembered else -1
        active = state["Running"] or state["Restarting"]
        if active:
            return engine.wait_container(container_id, "not-running")
        ended = state["Status"] in ("exited", "dead") and not state["FinishedAt"].startswith("0001-")
        if ended and (before["Running"] or state["FinishedAt"] != before["FinishedAt"]):
            return state["ExitCode"]
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def rename(engine, request):
    new_name = request.arg("name")
    if not new_name:
        raise InvalidArgument("name is required")
    engine.rename_container(request.params["id"], new_name)
    return H.no_content()


def remove(engine, request):
    engine.remove_container(request.params["id"], force=request.flag("force"), volumes=request.flag("v"))
    return H.no_content()


def prune(engine, request):
    return H.json_response(engine.prune_containers(request.filters()))


def resize(engine, request):
    height, width = request.integer("h", 0), request.integer("w", 0)
    container_id = engine.container_id(request.params["id"])
    if not _state(engine, container_id)["Running"]:
        raise Conflict(f"Container {container_id} is not running")
    attachment = engine.attach_container(container_id, timeout=5)
    try:
        attachment.resize(height, width)
    finally:
        attachment.close()
    return H.Response(200)


def _state(engine, name: str) -> dict:
    return engine.container_inspect(name)["State"]


# --- output: logs and attach ------------------------------------------------------------

def _frame(stream: str, data: bytes, tty: bool) -> bytes:
    if tty:
        return data
    return struct.pack(">BxxxI", STDERR if stream == "stderr" else STDOUT, len(data)) + data


def _wanted(request, entry: dict) -> bool:
    stream = entry.get("stream")
    return (stream == "stderr" and request.flag("stderr")) or (stream != "stderr" and request.flag("stdout"))


def logs(engine, request):
    from hakobune.engine.engine import _time_bound_ns
    from hakobune.engine.logstream import entry_time_ns, fixed_stamp, follow_log

    name = request.params["id"]
    if not (request.flag("stdout") or request.flag("stderr")):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    inspected = engine.container_inspect(name)
    container_id, tty = inspected["Id"], bool(inspected["Config"].get("Tty"))
    tail_text = request.arg("tail") or "all"
    if tail_text == "all":
        tail = None
    else:
        try:
            tail = int(tail_text)
        except ValueError:
            raise InvalidArgument(f'invalid value for "tail": "{tail_text}"') from None
        tail = None if tail < 0 else tail
    since = request.arg("since")
    until = request.arg("until")
    since_ns = _time_bound_ns(since) if since and since != "0" else None
    until_ns = _time_bound_ns(until) if until and until != "0" else None
    timestamps = request.flag("timestamps")
    details = request.flag("details")
    if ((inspected.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") == "none":
        raise InvalidArgument("configured logging driver does not support reading")  # before the stream

    watch = H.ClientWatch()

    def chunks():
        for entry in follow_log(engine, container_id, since_ns, until_ns, tail, follow=request.flag("follow"),
                                stop=watch.gone):
            if not _wanted(request, entry):
                continue
            line = entry.get("log", "")
            if details:
                attrs = entry.get("attrs") or {}
                line = ",".join(f"{k}={v}" for k, v in sorted(attrs.items())) + " " + line
            if timestamps:
                line = fixed_stamp(entry_time_ns(entry)) + " " + line
            yield _frame(entry.get("stream"), line.encode("utf-8", "surrogateescape"), tty)

    content_type = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    return H.Stream(200, chunks(), content_type, watch=watch)


def attach(engine, request):
    inspected = engine.container_inspect(request.params["id"])
    container_id, tty = inspected["Id"], bool(inspected["Config"].get("Tty"))
    status = inspected["State"]["Status"]
    # a stopped container may be attached to (`docker start -a` attaches
    # before it starts it): the stream waits for its next run, as dockerd's
    log = _LogReader(engine, container_id, held=request.flag("stream") and status != "running"
                     and _logs_to_file(inspected))
    note = getattr(engine, "note_attach", None)
    if note:
        note(engine.lifecycle.store.read(container_id))

    def run(sock, rfile):
        try:
            if request.flag("stdin") and inspected["Config"].get("OpenStdin"):
                threading.Thread(target=_forward_stdin, args=(engine, container_id, rfile), daemon=True).start()
            if request.flag("logs"):
                for entry, _ in engine.read_log(container_id):
                    if _wanted(request, entry):
                        sock.sendall(_frame(entry.get("stream"),
                                            entry.get("log", "").encode("utf-8", "surrogateescape"), tty))
            if request.flag("stream"):
                _stream_output(engine, request, container_id, log, inspected["State"], tty, sock)
            try:
                sock.shutdown(1)  # our side only: the server reads what is left before closing
            except OSError:
                pass
        finally:
            log.close()

    content_type = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
    return H.Hijack(run, content_type)


def _logs_to_file(inspected: dict) -> bool:
    log_type = ((inspected.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") or "json-file"
    return log_type == "json-file"


class _LogReader:
    """The container's log from the moment of the attach on.  For a
    container not running yet (`held`), the log file is opened (created,
    empty: the monitor appends to it) at once and read through that open
    file: a container run with --rm may be gone, its directory with it,
    before the attach has read what it wrote."""

    def __init__(self, engine, container_id: str, held: bool):
        self.engine, self.container_id = engine, container_id
        self.fd = -1
        if held:
            path = engine.lifecycle.log_path(container_id)
            try:
                self.fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o640)
            except OSError:
                self.fd = -1
        try:
            self.offset = engine.log_size(container_id)  # logical: rotated files counted
        except (HakobuneError, OSError):
            self.offset = os.fstat(self.fd).st_size if self.fd >= 0 else 0

    def entries(self):
        """The entries written since the last call."""
        from hakobune.engine.containers import read_log

        if self.fd >= 0 and not os.path.exists(self.engine.lifecycle.log_path(self.container_id)):
            # removed (--rm) before all was read: what is left, in the file held open
            pairs = read_log(f"/proc/self/fd/{self.fd}", self.offset)
        else:  # by path: across the log's rotations
            try:
                pairs = self.engine.read_log(self.container_id, self.offset)
            except (NotFound, OSError):
                return
        for entry, self.offset in pairs:
            yield entry

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _stream_output(engine, request, container_id: str, log: _LogReader, initial: dict, tty: bool, sock) -> None:
    """The log from the attach on until the container, running at the attach
    or started after it, has stopped (a run has ended that had not ended at
    the attach), or is gone, or the client has gone."""
    was_running = initial["Status"] in ("running", "restarting", "paused")

    def send_new():
        for entry in log.entries():
            if _wanted(request, entry):
                sock.sendall(_frame(entry.get("stream"), entry.get("log", "").encode("utf-8", "surrogateescape"),
                                    tty))

    while True:
        try:
            state = engine.container_inspect(container_id)["State"]
        except NotFound:
            state = None
        send_new()
        if state is None or _peer_closed(sock):
            return
        if state["Status"] in ("exited", "dead") and (was_running or state["FinishedAt"] != initial["FinishedAt"]):
            send_new()
            return
        time.sleep(0.05)


def _peer_closed(sock) -> bool:
    """The client has closed its connection (not just its sending side)."""
    import select

    poller = select.poll()
    poller.register(sock, select.POLLHUP | select.POLLERR)
    try:
        return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))
    except OSError:
        return True


def _forward_stdin(engine, container_id: str, rfile) -> None:
    """The client's stream to the container's stdin, through the monitor
    (once the container has one); EOF closes the container's stdin."""
    attachment = None
    deadline = time.monotonic() + 60
    while attachment is None and time.monotonic() < deadline:
        try:
            attachment = engine.attach_container(container_id, timeout=5)
        except (HakobuneError, OSError, ValueError):
            # no monitor yet, or its socket not listening yet: it is starting
            time.sleep(0.05)
    if attachment is None:
        return
    try:
        while True:
            data = rfile.read1(65536) if hasattr(rfile, "read1") else rfile.read(65536)
            if not data:
                attachment.close_stdin()
                _linger(attachment)
                return
            attachment.write(data.decode("utf-8", "surrogateescape"))
    except (OSError, ValueError):
        return
    finally:
        attachment.close()


def _linger(attachment) -> None:
    """Until the monitor has read all we sent: closed at once, our end would
    make its next write of output to us fail, and the monitor drop us with
    the close of stdin still unread.  Our sending side ends; what it sends
    is read until it closes the connection."""
    import socket

    attachment.sock.shutdown(socket.SHUT_WR)
    while attachment.sock.recv(65536):
        pass


# --- the filesystem -----------------------------------------------------------------------

def changes(engine, request):
    return H.json_response(engine.container_changes(request.params["id"]))


def export(engine, request):
    from hakobune.api.images import _written_by

    container_id = engine.container_id(request.params["id"])
    return H.Stream(200, _written_by(lambda out: engine.export_container(container_id, out)), "application/x-tar")


def _path_stat_header(stat: dict) -> tuple[str, str]:
    import base64
    import json

    return "X-Docker-Container-Path-Stat", base64.b64encode(json.dumps(stat).encode()).decode()


def archive_head(engine, request):
    stat = engine.archive_stat(request.params["id"], _archive_path(request))
    return H.Response(200, b"", None, [_path_stat_header(stat)])


def archive_get(engine, request):
    from hakobune.api.images import _written_by

    name, path = request.params["id"], _archive_path(request)
    stat = engine.archive_stat(name, path)

    def write(out):
        with engine.archive_get(name, path) as (_, write_tar):
            write_tar(out)

    return H.Stream(200, _written_by(write), "application/x-tar", [_path_stat_header(stat)])


def archive_put(engine, request):
    engine.archive_put(request.params["id"], _archive_path(request), request.body,
                       no_overwrite_dir_non_dir=request.flag("noOverwriteDirNonDir"),
                       copy_uid_gid=request.flag("copyUIDGID"))
    return H.Response(200)


def _archive_path(request) -> str:
    path = request.arg("path")
    if not path:
        raise InvalidArgument("path is required")
    return path
