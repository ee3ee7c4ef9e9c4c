"""/containers/{id}/top, /containers/{id}/stats and /containers/{id}/update.

stats without `stream` (Docker's stream=1) sends a reading a second, each
against the one before, until the container stops or the client hangs up;
with stream=0 it answers one reading, taken a second after a first one so
that the CPU usage has something to compare with (as dockerd does) unless
`one-shot` is set."""

from __future__ import annotations

import time

from hakobune.api import http as H
from hakobune.errors import InvalidArgument


def register(router) -> None:
    router.add("GET", "/containers/{id}/top", top)
    router.add("GET", "/containers/{id}/stats", stats)
    router.add("POST", "/containers/{id}/update", update)


def top(engine, request):
    return H.json_response(engine.top(request.params["id"], request.arg("ps_args") or None))


def stats(engine, request):
    name = request.params["id"]
    if not request.flag("stream", True):
        first = engine.container_stats(name)
        if request.flag("one-shot") or first["read"].startswith("0001-"):
            return H.json_response(first)
        time.sleep(1)
        return H.json_response(engine.container_stats(name, first))
    engine.container_id(name)  # a 404 before the stream
    return H.Stream(200, H.json_lines(engine.stats_stream(name)))


def update(engine, request):
    body = request.json({}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the update config must be a JSON object")
    warnings = engine.update_container(request.params["id"], body)
    return H.json_response({"Warnings": list(warnings) if warnings else None})
