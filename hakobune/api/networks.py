"""/networks/...: list, create (201; 409 for a taken name), inspect,
remove, connect, disconnect, prune, in Docker's shapes."""

from __future__ import annotations

from hakobune.api import http as H
from hakobune.errors import InvalidArgument


def register(router) -> None:
    router.add("GET", "/networks", list_networks)
    router.add("POST", "/networks/create", create)
    router.add("POST", "/networks/prune", prune)
    router.add("GET", "/networks/{id}", inspect)
    router.add("DELETE", "/networks/{id}", remove)
    router.add("POST", "/networks/{id}/connect", connect)
    router.add("POST", "/networks/{id}/disconnect", disconnect)


def _object(request) -> dict:
    body = request.json({}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object")
    return body


def list_networks(engine, request):
    return H.json_response(engine.networks(request.filters()))


def create(engine, request):
    body = _object(request)
    name = body.get("Name") or ""
    if not name:
        raise InvalidArgument("network name must not be empty")
    ipam_configs = ((body.get("IPAM") or {}).get("Config") or [])
    answer = engine.create_network(
        name, body.get("Driver") or "bridge", ipam_config=[dict(pool or {}) for pool in ipam_configs],
        enable_ipv6=bool(body.get("EnableIPv6")), internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")), labels=body.get("Labels") or None,
        options=body.get("Options") or None)
    return H.json_response({"Id": answer["Id"], "Warning": answer.get("Warning") or ""}, 201)


def inspect(engine, request):
    return H.json_response(engine.network_inspect(request.params["id"]))


def remove(engine, request):
    engine.remove_network(request.params["id"])
    return H.no_content()


def prune(engine, request):
    return H.json_response(engine.prune_networks(request.filters()))


def connect(engine, request):
    body = _object(request)
    container = body.get("Container") or ""
    if not container:
        raise InvalidArgument("a container is required")
    endpoint = body.get("EndpointConfig") or {}
    requested = endpoint.get("IPAMConfig") or {}
    engine.connect_container(request.params["id"], container, aliases=list(endpoint.get("Aliases") or ()),
                             ip=requested.get("IPv4Address") or "", ip6=requested.get("IPv6Address") or "",
                             mac=endpoint.get("MacAddress") or "")
    return H.Response(200)


def disconnect(engine, request):
    body = _object(request)
    container = body.get("Container") or ""
    if not container:
        raise InvalidArgument("a container is required")
    engine.disconnect_container(request.params["id"], container, force=bool(body.get("Force")))
    return H.Response(200)
