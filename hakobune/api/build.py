"""POST /build: the classic builder's endpoint (the docker CLI's with
DOCKER_BUILDKIT=0, docker-py's images.build).

The body is the context as a tar (plain, gzip, bzip2, xz or zstd), unpacked
into a scratch directory under the store's root; the query as Docker's:
t (repeated), dockerfile, buildargs and labels (JSON objects), target,
nocache, q, networkmode, pull, platform.  The answer is the builder's
stream as JSON messages ({"stream": "Step 1/3 : ..."}), then
{"aux": {"ID": "sha256:..."}} before "Successfully built"; a failure ends
it with {"errorDetail": {"message", "code"?}, "error"} (the status is 200
by then).  With q=1 only the image id is sent.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import tempfile
import threading

from hakobune.api import http as H
from hakobune.errors import HakobuneError, InvalidArgument

_END = object()
_CONTEXT_LIMIT = 8 << 30


def register(router) -> None:
    router.add("POST", "/build", build)
    router.add("POST", "/build/prune", prune)
    router.add("GET", "/images/search", search)


def search(engine, request):
    from hakobune.errors import NotFound

    raise NotFound("searching a registry is not supported by hakobune")


def prune(engine, request):
    return H.json_response(engine.prune_build_cache(all=request.flag("all")))


def _json_object(request, name: str) -> dict:
    text = request.arg(name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidArgument(f"invalid {name}: {text}") from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {name}: {text}")
    return value


def _unpack_context(request, scratch: str) -> str:
    """The body into `scratch`/context; a body that is no archive is the Dockerfile itself."""
    from hakobune.build.context import is_archive, unpack_context_tar

    spool = os.path.join(scratch, "context.tar")
    size = 0
    with open(spool, "wb") as out:
        while chunk := request.body.read(1 << 20):
            size += len(chunk)
            if size > _CONTEXT_LIMIT:
                raise InvalidArgument("the build context is too large")
            out.write(chunk)
    context_dir = os.path.join(scratch, "context")
    os.mkdir(context_dir)
    if size and is_archive(spool):
        with open(spool, "rb") as f:
            unpack_context_tar(f, context_dir)
    elif size:
        shutil.move(spool, os.path.join(context_dir, "Dockerfile"))
    if os.path.exists(spool):
        os.unlink(spool)
    return context_dir


def _options(request, context_dir: str):
    from hakobune.build.builder import BuildOptions
    from hakobune.build.ignore import load_patterns

    name = request.arg("dockerfile") or "Dockerfile"
    dockerfile = os.path.normpath(os.path.join(context_dir, name.lstrip("/")))
    if not dockerfile.startswith(context_dir + "/"):
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {name}")
    try:
        with open(dockerfile, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {name}") from None
    build_args = {key: value for key, value in _json_object(request, "buildargs").items()}
    network = request.arg("networkmode") or "default"
    return BuildOptions(context_dir, text, os.path.basename(name), tags=request.args("t"), build_args=build_args,
                        labels=_json_object(request, "labels"), target=request.arg("target") or "",
                        no_cache=request.flag("nocache"), pull=request.flag("pull"), network=network,
                        platform=request.arg("platform") or "", ignore_patterns=load_patterns(context_dir, dockerfile),
                        cache_from=_cache_from(request))


def _cache_from(request) -> list[str]:
    """The ``cachefrom`` query: a JSON array of image names."""
    text = request.arg("cachefrom")
    try:
        names = json.loads(text) if text else []
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise InvalidArgument(f"invalid cachefrom: {text}")
    return names


def build(engine, request):
    if request.arg("remote"):
        raise InvalidArgument("remote build contexts are not supported: send the context as a tar body")
    os.makedirs(engine.root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="build-context-", dir=engine.root)
    try:
        context_dir = _unpack_context(request, scratch)
        options = _options(request, context_dir)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return H.Stream(200, H.json_lines(_messages(engine, options, scratch, request.flag("q"))))


def _messages(engine, options, scratch: str, quiet: bool):
    """The build's messages as it runs (in a thread); the scratch directory
    goes when the build ends."""
    from hakobune.build.builder import BuildFailed

    messages: queue.Queue = queue.Queue()
    outcome = {}

    def output(text: str) -> None:
        messages.put(text)

    def target():
        try:
            outcome["id"] = engine.build_image(options, output)
        except BuildFailed as e:
            outcome["error"], outcome["code"] = e.message, e.code
        except HakobuneError as e:
            outcome["error"] = e.message
        except Exception as e:  # noqa: BLE001 - reported in the stream
            outcome["error"] = f"{type(e).__name__}: {e}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            messages.put(_END)

    threading.Thread(target=target, daemon=True).start()
    held = []  # "Successfully built/tagged" go after the aux message, which needs the id
    while (text := messages.get()) is not _END:
        if quiet:
            continue
        if text.startswith(("Successfully built ", "Successfully tagged ")) or held:
            held.append(text)
            continue
        yield {"stream": text}
    if "error" in outcome:
        detail = {"message": outcome["error"]}
        if "code" in outcome:
            detail = {"code": outcome["code"], **detail}
        yield {"errorDetail": detail, "error": outcome["error"]}
        return
    image_id = outcome["id"]
    if quiet:
        yield {"stream": image_id + "\n"}
        return
    yield {"aux": {"ID": image_id}}
    for text in held:
        yield {"stream": text}
