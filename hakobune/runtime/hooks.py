"""OCI hooks: programs run at points of the lifecycle with the container's
state as JSON on their standard input."""

import json
import os
import subprocess

from hakobune.errors import SystemFailure


def run_hooks(hooks: list[dict], state: dict, kind: str, warn_only: bool = False) -> None:
    """Run the hooks in order.  A failing one raises SystemFailure; with
    `warn_only` (poststart, poststop) it is a warning and the next one runs."""
    payload = json.dumps(state).encode()
    for hook in hooks:
        try:
            _run_one(hook, payload, kind)
        except SystemFailure as e:
            if not warn_only:
                raise
            os.write(2, f"hakobune-runtime: warning: {e}\n".encode())


def _run_one(hook: dict, payload: bytes, kind: str) -> None:
    args = hook.get("args") or [hook["path"]]
    env = dict(e.partition("=")[::2] for e in hook.get("env", []))
    try:
        result = subprocess.run(
            args, executable=hook["path"], input=payload, env=env, capture_output=True,
            timeout=hook.get("timeout"), close_fds=True,
        )
    except subprocess.TimeoutExpired:
        raise SystemFailure(f"{kind} hook {hook['path']} timed out after {hook['timeout']}s") from None
    except OSError as e:
        raise SystemFailure(f"{kind} hook {hook['path']}: {os.strerror(e.errno or 0)}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise SystemFailure(f"{kind} hook {hook['path']} exited with {result.returncode}: {detail}")
