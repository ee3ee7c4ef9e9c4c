"""The route table: (method, path template) -> handler, and the version
prefix.

Templates are Docker's: ``/containers/{id}/json``; ``{name*}`` takes the
rest up to the template's next fixed part, slashes included (image names:
``/images/{name*}/json``).  A path may start with ``/v<major>.<minor>``:
versions from MIN_API_VERSION to API_VERSION are served; a newer one gets
Docker's 400 ("client version X is too new. Maximum supported API version
is Y").  Unknown paths get 404 ``page not found``; a known path with
another method, 405 as Docker answers.
"""

from __future__ import annotations

import re

from hakobune.api import API_VERSION, MIN_API_VERSION
from hakobune.api import http as H
from hakobune.errors import HakobuneError, InvalidArgument, NotFound

_VERSION = re.compile(r"/v(\d+)\.(\d+)(/.*)")


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


class Router:
    def __init__(self, engine):
        self.engine = engine
        self.routes: list[tuple[str, re.Pattern, object]] = []

    def add(self, method: str, template: str, handler) -> None:
        pattern = ""
        for part in re.split(r"(\{[a-z_]+\*?\})", template):
            if part.startswith("{"):
                name = part.strip("{}*")
                pattern += f"(?P<{name}>.+?)" if part.endswith("*}") else f"(?P<{name}>[^/]+)"
            else:
                pattern += re.escape(part)
        self.routes.append((method, re.compile(pattern + "/?"), handler))

    def handle(self, method: str, path: str, query: str, headers, body):
        version = None
        match = _VERSION.fullmatch(path)
        if match:
            version = f"{match.group(1)}.{match.group(2)}"
            path = match.group(3)
            if _version_tuple(version) > _version_tuple(API_VERSION):
                raise InvalidArgument(f"client version {version} is too new. Maximum supported API version is "
                                      f"{API_VERSION}")
            if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
                raise InvalidArgument(f"client version {version} is too old. Minimum supported API version is "
                                      f"{MIN_API_VERSION}, please upgrade your client to a newer version")
        lookup = "GET" if method == "HEAD" else method
        path_known = False
        for route_method, pattern, handler in self.routes:
            found = pattern.fullmatch(path)
            if not found:
                continue
            path_known = True
            if route_method not in (method, lookup):
                continue
            request = H.Request(method, path, query, headers, body, version, found.groupdict())
            return handler(self.engine, request)
        if path_known:
            return H.json_response({"message": "method not allowed"}, 405)
        raise NotFound("page not found")


def build_router(engine) -> Router:
    from hakobune.api import build, containers, events, images, networks, processes, system, volumes
    from hakobune.api import exec as exec_instances

    router = Router(engine)
    # build before images: /images/search is not an image's name
    for module in (system, build, images, containers, exec_instances, processes, volumes, networks, events):
        module.register(router)
    return router


__all__ = ["Router", "build_router", "HakobuneError"]
