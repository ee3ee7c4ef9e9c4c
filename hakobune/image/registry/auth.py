"""Credentials as the Docker CLI keeps them, and the parsing of registries'
``WWW-Authenticate`` challenges.

The Docker config is ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``:
``auths.<host>.auth`` is base64 ``user:password``; ``credHelpers.<host>`` or
``credsStore`` names a helper program ``docker-credential-<name>`` that
answers ``get`` (the server on stdin) with ``{"Username": …, "Secret": …}``.
Docker Hub's entry is keyed ``https://index.docker.io/v1/``.
`login` and `logout` rewrite the file atomically, mode 0600.
"""

import base64
import json
import os
import re
import subprocess
from typing import NamedTuple

from hakobune.errors import InvalidArgument, SystemFailure

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}


class _UserPassword(NamedTuple):
    username: str
    password: str


class Credentials(_UserPassword):
    """What answers a registry's challenge: a user and password (the pair
    compares as a tuple), or the tokens an API client may send instead
    (Docker's AuthConfig): `identity_token`, an OAuth refresh token traded
    at the token server; `registry_token`, a bearer token sent to the
    registry as it is."""

    def __new__(cls, username: str, password: str, identity_token: str = "", registry_token: str = ""):
        self = super().__new__(cls, username, password)
        self.identity_token = identity_token
        self.registry_token = registry_token
        return self


def config_path() -> str:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def _read_config(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"cannot read the Docker config {path}: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"the Docker config {path} is not a JSON object")
    return doc


def _keys(host: str) -> list[str]:
    if host in _HUB_HOSTS:
        return [DOCKER_HUB_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"]
    return [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]


def credentials_for(host: str) -> Credentials | None:
    """The user's credentials for the registry `host` (``docker.io`` for the Hub), or None."""
    doc = _read_config(config_path())
    keys = _keys(host)
    helpers = doc.get("credHelpers") or {}
    helper = next((helpers[k] for k in keys if isinstance(helpers, dict) and k in helpers), None)
    helper = helper or doc.get("credsStore")
    if isinstance(helper, str) and helper:
        found = _from_helper(helper, keys[0] if host in _HUB_HOSTS else host)
        if found is not None:
            return found
    auths = doc.get("auths") or {}
    for key in keys:
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict):
            if entry.get("auth"):
                try:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    raise InvalidArgument(f"{config_path()}: auths.{key}.auth is not base64 user:password") from None
                return Credentials(user, password)
            if entry.get("username"):
                return Credentials(str(entry["username"]), str(entry.get("password", "")))
    return None


def _from_helper(name: str, server: str) -> Credentials | None:
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run([program, "get"], input=server.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        return None
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SystemFailure(f"the credential helper {program} failed: {e}") from None
    if done.returncode != 0:
        return None  # "credentials not found in native keychain"
    try:
        doc = json.loads(done.stdout)
        user, secret = doc.get("Username", ""), doc.get("Secret", "")
    except (ValueError, AttributeError):
        raise SystemFailure(f"the credential helper {program} answered something that is not JSON") from None
    if not secret or user == "<token>":  # identity tokens (OAuth refresh tokens) are not supported
        return None
    return Credentials(user, secret)


def login(host: str, username: str, password: str, verify: bool = True, insecure_registries=()) -> str:
    """Check the credentials against the registry (unless `verify` is false)
    and store them in ``auths``; returns the config file's path."""
    if not username or not password:
        raise InvalidArgument("login needs a username and a password")
    if verify:
        from hakobune.image.registry.client import Client
        Client(host, insecure_registries=insecure_registries,
               credentials=Credentials(username, password)).check_login()
    path = config_path()
    doc = _read_config(path)
    auths = doc.setdefault("auths", {})
    key = DOCKER_HUB_KEY if host in _HUB_HOSTS else host
    auths[key] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    _write_config(path, doc)
    return path


def logout(host: str) -> bool:
    """Forget the stored credentials for `host`; False if there were none."""
    path = config_path()
    doc = _read_config(path)
    auths = doc.get("auths") or {}
    removed = [key for key in _keys(host) if key in auths]
    for key in removed:
        del auths[key]
    if removed:
        _write_config(path, doc)
    return bool(removed)


def _write_config(path: str, doc: dict) -> None:
    directory = os.path.dirname(path)
    temp = os.path.join(directory, f".config.json.tmp-{os.getpid()}")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o600)
        os.rename(temp, path)
    except OSError as e:
        raise SystemFailure(f"cannot write the Docker config {path}: {e.strerror or e}") from None


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenges(header: str) -> list[tuple[str, dict]]:
    """``Bearer realm="…",service="…",scope="…"`` → [("bearer", {...})]; several
    challenges in one header are split at each scheme."""
    found: list[tuple[str, dict]] = []
    position = 0
    text = header or ""
    while position < len(text):
        match = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)").match(text, position)
        if not match:
            break
        scheme = match.group(1).lower()
        position = match.end()
        params = {}
        while True:
            param = _PARAM.match(text, position)
            if not param:
                break
            value = param.group(2)
            params[param.group(1).lower()] = (re.sub(r"\\(.)", r"\1", value) if value is not None
                                              else param.group(3))
            position = param.end()
        found.append((scheme, params))
    return found
