"""/volumes/...: list, create, inspect, remove, prune, in Docker's shapes
(a list is {"Volumes": [...], "Warnings": null}; create answers 201 with
the volume)."""

from __future__ import annotations

from hakobune.api import API_VERSION
from hakobune.api import http as H
from hakobune.errors import InvalidArgument


def register(router) -> None:
    router.add("GET", "/volumes", list_volumes)
    router.add("POST", "/volumes/create", create)
    router.add("POST", "/volumes/prune", prune)
    router.add("GET", "/volumes/{name}", inspect)
    router.add("DELETE", "/volumes/{name}", remove)


def list_volumes(engine, request):
    return H.json_response(engine.volumes(request.filters()))


def create(engine, request):
    body = request.json({}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the volume config must be a JSON object")
    for key in ("Labels", "DriverOpts"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise InvalidArgument(f"{key} must be an object")
    volume = engine.create_volume(body.get("Name") or None, body.get("Driver") or "local", body.get("Labels") or None,
                                  body.get("DriverOpts") or None)
    return H.json_response(volume, 201)


def inspect(engine, request):
    return H.json_response(engine.volume_inspect(request.params["name"]))


def remove(engine, request):
    engine.remove_volume(request.params["name"], force=request.flag("force"))
    return H.no_content()


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def prune(engine, request):
    """Before API 1.42 prune takes every unused volume; from 1.42 only the
    anonymous ones unless the filter all=true is given."""
    version = request.version or API_VERSION
    everything = _version_tuple(version) < (1, 42)
    return H.json_response(engine.prune_volumes(all=everything, filters=request.filters()))
