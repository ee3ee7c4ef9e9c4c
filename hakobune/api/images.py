"""/images/...: list, inspect, history, tag, remove, prune, pull and import
(/images/create), push, save (/images/get) and load."""

from __future__ import annotations

import queue
import re
import threading

from hakobune.api import http as H
from hakobune.api.progress import progress_answer, run_with_progress
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
    router.add("POST", "/commit", commit)


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


def commit(engine, request):
    """POST /commit?container=&repo=&tag=&author=&comment=&changes=&pause=: 201 {"Id"}."""
    container = request.arg("container")
    if not container:
        raise InvalidArgument("container is required")
    repo = request.arg("repo") or ""
    reference = _reference(repo, request.arg("tag")) if repo else None
    image_id = engine.commit_container(container, reference, author=request.arg("author") or "",
                                       comment=request.arg("comment") or "", changes=request.args("changes"),
                                       pause=request.flag("pause", True))
    return H.json_response({"Id": image_id}, 201)


def prune(engine, request):
    filters = request.filters()
    return H.json_response(engine.prune_images(all=False, filters=filters))


def _reference(name: str, tag: str | None) -> str:
    if not tag:
        return name
    if tag.startswith(("sha256:", "sha512:")):
        return f"{name}@{tag}"
    return f"{name}:{tag}"


def registry_auth(request):
    """X-Registry-Auth, Docker's AuthConfig as base64url JSON: {"username",
    "password"} (or "auth", base64 user:password), {"identitytoken"} (an
    OAuth refresh token) or {"registrytoken"} (a bearer token for the
    registry itself); "serveraddress" and "email" are not needed.  As a
    registry Credentials, which then replace the server's own stored login,
    or None when absent or empty (the server's login applies, as the
    hakobune CLI's client relies on).  Malformed is a 400, as dockerd answers."""
    import base64
    import binascii
    import json

    header = (request.headers.get("X-Registry-Auth") or "").strip()
    if not header:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidArgument("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
    if not isinstance(document, dict):
        raise InvalidArgument("invalid X-Registry-Auth header: not a JSON object")
    username, password = str(document.get("username") or ""), str(document.get("password") or "")
    if document.get("auth") and not (username or password):
        try:
            pair = base64.b64decode(str(document["auth"]), validate=True).decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidArgument("invalid X-Registry-Auth header: auth is not base64 user:password") from None
        username, _, password = pair.partition(":")
    identity_token = str(document.get("identitytoken") or "")
    registry_token = str(document.get("registrytoken") or "")
    if not (username or password or identity_token or registry_token):
        return None
    from hakobune.image.registry.auth import Credentials

    return Credentials(username, password, identity_token=identity_token, registry_token=registry_token)


def create(engine, request):
    """Pull (fromImage; every tag when it names a repository and no tag is
    given, as dockerd) or import (fromSrc)."""
    if request.arg("fromImage"):
        image, tag = request.arg("fromImage"), request.arg("tag")
        reference = _reference(image, tag)
        platform = request.arg("platform") or None
        credentials = registry_auth(request)
        if not tag and _names_only_a_repository(image):
            def work(progress):
                return engine.pull_all_tags(image, platform=platform, progress=progress, credentials=credentials)
        else:
            def work(progress):
                return engine.pull(reference, platform=platform, progress=progress, credentials=credentials)
        return progress_answer(work)
    if request.arg("fromSrc") == "-":
        repo = request.arg("repo")
        reference = _reference(repo, request.arg("tag")) if repo else None
        image_id = engine.import_image(request.body, reference, request.args("changes"),
                                       request.arg("message"))
        return H.Stream(200, H.json_lines([{"status": image_id}]))
    if request.arg("fromSrc"):
        raise InvalidArgument("importing from a URL is not supported: send the archive as the body (fromSrc=-)")
    raise InvalidArgument("fromImage or fromSrc is required")


def _names_only_a_repository(name: str) -> bool:
    """No tag and no digest: "busybox", "127.0.0.1:5000/a/b" (a port is no tag)."""
    last = name.rsplit("/", 1)[-1]
    return "@" not in name and ":" not in last


def push(engine, request):
    """Push one tag, or every tag of the repository when no tag is given (`docker push -a`)."""
    name, tag = request.params["name"], request.arg("tag")
    credentials = registry_auth(request)
    if not tag and _names_only_a_repository(name):
        def work(progress):
            return engine.push_all_tags(name, progress=progress, credentials=credentials)
    else:
        reference = _reference(name, tag)

        def work(progress):
            return engine.push(reference, progress=progress, credentials=credentials)
    # dockerd reports every push error inside the stream, after "The push refers to repository"
    return H.Stream(200, H.json_lines(_with_push_aux(run_with_progress(work))))


_PUSHED = re.compile(r"(?P<tag>[^\s:]+): digest: (?P<digest>\S+) size: (?P<size>\d+)")


def _with_push_aux(messages):
    """Docker's aux message after "TAG: digest: D size: N": {"Tag", "Digest", "Size"}."""
    for document in messages:
        yield document
        pushed = _PUSHED.fullmatch(document.get("status") or "")
        if pushed:
            yield {"progressDetail": {}, "aux": {"Tag": pushed["tag"], "Digest": pushed["digest"],
                                                 "Size": int(pushed["size"])}}


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
