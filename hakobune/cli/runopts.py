"""`run` and `create` flags → Docker's create body (POST /containers/create),
as the docker CLI builds it: top-level Config fields, HostConfig and
NetworkingConfig.  The engine takes that body (hakobune.engine.create), so
the CLI and the API create containers the same way.

    body_of(opts, image, command, detach=False) -> dict
"""

import os


def body_of(opts, image: str, command: list[str], detach: bool = False) -> dict:
    interactive = bool(opts.interactive)
    attach = not detach
    entrypoint = None
    if opts.changed("entrypoint"):
        entrypoint = [opts.entrypoint] if opts.entrypoint else [""]
    body = {
        "Hostname": opts.hostname or "", "Domainname": "", "User": opts.user or "",
        "AttachStdin": interactive and attach, "AttachStdout": attach, "AttachStderr": attach,
        "Tty": bool(opts.tty), "OpenStdin": interactive, "StdinOnce": interactive and attach,
        "Env": expand_env(opts.env) or None, "Cmd": list(command) or None, "Image": image,
        "Volumes": {}, "WorkingDir": opts.workdir or "", "Entrypoint": entrypoint, "OnBuild": None,
        "Labels": {},
        "HostConfig": {"AutoRemove": bool(getattr(opts, "rm", False)), "NetworkMode": "default"},
        "NetworkingConfig": {"EndpointsConfig": {}},
    }
    return body


def expand_env(entries) -> list[str]:
    """`-e NAME` takes NAME's value from the caller's environment (dropped if unset)."""
    out = []
    for entry in entries or ():
        if "=" in entry:
            out.append(entry)
        elif entry in os.environ:
            out.append(f"{entry}={os.environ[entry]}")
    return out
