"""A container as GET /containers/json lists it: Docker's summary, with the
daemon's human Status ("Up 3 minutes (healthy)", "Exited (0) 2 seconds
ago")."""

from __future__ import annotations

import time

from hakobune._humanize import human_duration


def status_text(state: dict, now: float | None = None) -> str:
    from hakobune.engine.containers import unix_time_of

    now = time.time() if now is None else now
    status = state["Status"]
    if status in ("running", "paused"):
        text = "Up " + human_duration(now - unix_time_of(state["StartedAt"]))
        if state.get("Paused"):
            return text + " (Paused)"
        health = (state.get("Health") or {}).get("Status")
        if health == "starting":
            return text + " (health: starting)"
        if health in ("healthy", "unhealthy"):
            return text + f" ({health})"
        return text
    if status == "restarting":
        return f"Restarting ({state['ExitCode']}) {human_duration(now - unix_time_of(state['FinishedAt']))} ago"
    if status == "exited":
        finished = unix_time_of(state["FinishedAt"])
        if not finished:
            return f"Exited ({state['ExitCode']})"
        return f"Exited ({state['ExitCode']}) {human_duration(now - finished)} ago"
    return status.capitalize()


def list_command(path: str, args) -> str:
    """The Command of a container's summary as dockerd writes it: the program
    and its arguments, each argument with a space in single quotes."""
    return " ".join([path, *(f"'{arg}'" if " " in arg else arg for arg in args)])


def container_summary(record: dict, state: dict, inspected: dict | None = None) -> dict:
    """Docker's summary of a container; `inspected` (its inspect JSON, when
    the caller has it) supplies Mounts, NetworkSettings and Ports."""
    from hakobune.engine.containers import unix_time_of

    config = record["Config"]
    inspected = inspected or {}
    networks = (inspected.get("NetworkSettings") or {}).get("Networks") or {}
    return {
        "Id": record["Id"], "Names": [record["Name"]],
        "Image": config.get("Image") or record["Image"], "ImageID": record["Image"],
        "Command": list_command(record["Path"], record["Args"]),
        "Created": int(unix_time_of(record["Created"])),
        "Ports": _ports(inspected), "Labels": dict(config.get("Labels") or {}),
        "State": state["Status"], "Status": status_text(state),
        "HostConfig": {"NetworkMode": record["HostConfig"].get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": networks},
        "Mounts": inspected.get("Mounts") or [],
    }


def _ports(inspected: dict) -> list[dict]:
    ports = (inspected.get("NetworkSettings") or {}).get("Ports") or {}
    out = []
    for key, bindings in ports.items():
        number, _, protocol = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(number), "Type": protocol or "tcp"})
            continue
        for binding in bindings:
            out.append({"IP": binding.get("HostIp") or "0.0.0.0", "PrivatePort": int(number),
                        "PublicPort": int(binding.get("HostPort") or 0), "Type": protocol or "tcp"})
    return out
