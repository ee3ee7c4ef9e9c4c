"""/containers/...: create, list, inspect, start, stop, kill, restart,
pause, unpause, wait, rename, remove, prune, logs."""

from __future__ import annotations

from hakobune.api import http as H


def register(router) -> None:
    router.add("POST", "/containers/create", create)


def create(engine, request):
    body = request.json({}) or {}
    record = engine.create_container(body, name=request.arg("name") or None)
    return H.json_response({"Id": record["Id"], "Warnings": []}, 201)
