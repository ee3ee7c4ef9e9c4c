"""/_ping, /version, /info, /system/df, /auth: what clients ask first."""

from __future__ import annotations

import os
import platform

from hakobune import __version__
from hakobune.api import API_VERSION, MIN_API_VERSION
from hakobune.api import http as H

_PING_HEADERS = (("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"))


def register(router) -> None:
    router.add("GET", "/_ping", ping)
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("GET", "/system/df", system_df)
    router.add("POST", "/auth", auth)


def ping(engine, request):
    # HEAD answers with no body, GET with "OK" (as dockerd)
    return H.Response(200, b"OK", "text/plain; charset=utf-8", _PING_HEADERS)


def server_version() -> dict:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    kernel = os.uname().release
    details = {"ApiVersion": API_VERSION, "Arch": arch, "BuildTime": "", "Experimental": "false",
               "GitCommit": "", "GoVersion": "python" + platform.python_version(), "KernelVersion": kernel,
               "MinAPIVersion": MIN_API_VERSION,
               "Os": "linux"}
    return {"Platform": {"Name": "hakobune"},
            "Components": [{"Name": "Engine", "Version": __version__, "Details": details},
                           {"Name": "hakobune-runtime", "Version": __version__, "Details": {"GitCommit": ""}}],
            "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "", "GoVersion": "python" + platform.python_version(), "Os": "linux", "Arch": arch,
            "KernelVersion": kernel, "BuildTime": ""}


def version(engine, request):
    return H.json_response(server_version())


def info(engine, request):
    return H.json_response(engine.info())


def system_df(engine, request):
    return H.json_response(engine.system_df())


def auth(engine, request):
    body = request.json({}) or {}
    server = body.get("serveraddress") or None
    engine.login(server, body.get("username") or "", body.get("password") or "")
    return H.json_response({"IdentityToken": "", "Status": "Login Succeeded"})
