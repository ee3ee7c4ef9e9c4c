"""Debian's docker-registry on 127.0.0.1, as the tests and benchmarks run it."""

import http.client
import os
import subprocess
import time

REGISTRY = "/usr/bin/docker-registry"


def start_registry(directory: str, storage: str, address: str, secret: str, auth: str = "",
                   level: str = "info", new_session: bool = False) -> tuple[subprocess.Popen, str]:
    """Write a config under `directory`, start the registry with its log in
    `directory`/registry.log, and return (process, log path) once it answers."""
    config = os.path.join(directory, "config.yml")
    with open(config, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: {level}\n  accesslog:\n    disabled: false\n"
                f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
                f"http:\n  addr: {address}\n  secret: {secret}\n{auth}")
    log_path = os.path.join(directory, "registry.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([REGISTRY, "serve", config], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
                                   start_new_session=new_session)
    _wait_until_ready(process, int(address.rsplit(":", 1)[1]), log_path)
    return process, log_path


def _wait_until_ready(process: subprocess.Popen, port: int, log_path: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {tail(log_path)}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/v2/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not start: {tail(log_path)}")


def tail(log_path: str, size: int = 4000) -> str:
    with open(log_path, "rb") as f:
        return f.read().decode(errors="replace")[-size:]
