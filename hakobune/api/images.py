"""/images/...: list, inspect, history, tag, remove, prune, pull and import
(/images/create), push, save (/images/get) and load."""

from __future__ import annotations

import queue
import threading

from hakobune.api import http as H
from hakobune.api.progress import run_with_progress
from hakobune.errors import HakobuneError, InvalidArgument


def register(router) -> None:
    router.add("GET", "/images/json", list_images)
    router.add("POST", "/images/create", create)
    router.add("POST", "/images/prune", prune)
    router.add("POST", "/images/load", load)
    router.add("GET", "/images/get", save_many)
    router.add("GET", "/images/{name*}/json", inspect)
    router.add("GET", "/images/{name*}/history", history)
    router.add("GET", "/images/{name*}/get", save_one)
    router.add("POST", "/images/{name*}/tag", tag)
    router.add("POST", "/images/{name*}/push", push)
    router.add("DELETE", "/images/{name*}", remove)


def list_images(engine, request):
    return H.json_response(engine.images(all=request.flag("all"), filters=request.filters()))


def inspect(engine, request):
    return H.json_response(engine.image_inspect(request.params["name"]))


def history(engine, request):
    return H.json_response(engine.history(request.params["name"]))


def tag(engine, request):
    repo = request.arg("repo") or ""
    if not repo:
        raise InvalidArgument("repository name must have at least one component")
    target = f"{repo}:{request.arg('tag')}" if request.arg("tag") else repo
    engine.tag(request.params["name"], target)
    return H.no_content(201)


def remove(engine, request):
    return H.json_response(engine.remove_image(request.params["name"], force=request.flag("force"),
                                               no_prune=request.flag("noprune")))


def prune(engine, request):
    filters = request.filters()
    return H.json_response(engine.prune_images(all=False, filters=filters))


def _reference(name: str, tag: str | None) -> str:
    if not tag:
        return name
    if tag.startswith(("sha256:", "sha512:")):
        return f"{name}@{tag}"
    return f"{name}:{tag}"


def create(engine, request):
    """Pull (fromImage) or import (fromSrc)."""
    if request.arg("fromImage"):
        reference = _reference(request.arg("fromImage"), request.arg("tag"))
        platform = request.arg("platform") or None
        messages = run_with_progress(lambda progress: engine.pull(reference, platform=platform, progress=progress))
        return H.Stream(200, H.json_lines(messages))
    if request.arg("fromSrc") == "-":
        repo = request.arg("repo")
        reference = _reference(repo, request.arg("tag")) if repo else None
        image_id = engine.import_image(request.body, reference, request.args("changes"),
                                       request.arg("message"))
        return H.Stream(200, H.json_lines([{"status": image_id}]))
    if request.arg("fromSrc"):
        raise InvalidArgument("importing from a URL is not supported: send the archive as the body (fromSrc=-)")
    raise InvalidArgument("fromImage or fromSrc is required")


def push(engine, request):
    reference = _reference(request.params["name"], request.arg("tag"))
    messages = run_with_progress(lambda progress: engine.push(reference, progress=progress))
    return H.Stream(200, H.json_lines(messages))


def load(engine, request):
    quiet = request.flag("quiet")
    loaded = engine.load_images(request.body, quiet=quiet)
    return H.Stream(200, H.json_lines({"stream": f"{line}\n"} for line in loaded))


def save_one(engine, request):
    return _save(engine, [request.params["name"]])


def save_many(engine, request):
    names = request.args("names")
    if not names:
        raise InvalidArgument("no images given: ?names=...")
    return _save(engine, names)


def _save(engine, names):
    for name in names:
        engine.image_inspect(name)  # a missing image is a 404 before the stream starts
    return H.Stream(200, _written_by(lambda out: engine.save_images(names, out)), "application/x-tar")


class _QueueWriter:
    """A file object whose writes go to a queue; once the reader has gone
    (`abandoned` set), a write raises BrokenPipeError, so the writer stops
    and lets go of what it holds (a container's lock, a mount)."""

    def __init__(self, chunks: queue.Queue, abandoned: threading.Event):
        self.chunks = chunks
        self.abandoned = abandoned

    def write(self, data) -> int:
        while True:
            if self.abandoned.is_set():
                raise BrokenPipeError("the client has gone")
            try:
                self.chunks.put(bytes(data), timeout=0.5)
                return len(data)
            except queue.Full:
                continue

    def flush(self) -> None:
        pass


def _written_by(write):
    """The bytes `write(file)` writes, as a stream of chunks; closing the
    stream early (the client hung up) stops the writer."""
    chunks: queue.Queue = queue.Queue(maxsize=64)
    abandoned = threading.Event()
    end = object()

    def target():
        try:
            write(_QueueWriter(chunks, abandoned))
        except (HakobuneError, OSError):
            pass  # the archive ends short; the client sees a truncated tar
        finally:
            while not abandoned.is_set():
                try:
                    chunks.put(end, timeout=0.5)
                    break
                except queue.Full:
                    continue

    threading.Thread(target=target, daemon=True).start()
    try:
        while (chunk := chunks.get()) is not end:
            yield chunk
    finally:
        abandoned.set()
