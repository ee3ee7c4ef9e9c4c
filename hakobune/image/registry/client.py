"""A client of one registry (the OCI distribution API) over http.client.

- Host: ``docker.io`` is served by ``registry-1.docker.io``.  Plain HTTP is
  used only for loopback hosts (localhost, 127.0.0.0/8, ::1) and those the
  user lists as insecure (the `insecure_registries` argument or
  ``HAKOBUNE_INSECURE_REGISTRIES``, comma separated); https otherwise.
- Auth: requests go out anonymous (or with what an earlier challenge asked
  for); a 401 with ``WWW-Authenticate: Basic`` is answered with the user's
  credentials, one with ``Bearer realm=…,service=…,scope=…`` with a token
  fetched from the realm (with the credentials, if any) and cached per scope.
- Retries: connection errors, 5xx, 408 and 429 (after ``Retry-After``) are
  retried with a growing delay; then SystemFailure.  Redirects (blob
  storage behind a CDN) are followed, without the Authorization header to
  another host.

- Connections: kept alive and reused, one per host per thread (so threads
  may share a Client); a response read to its end (or with a small body
  left, which is drained) gives its connection back, others close it.  A
  reused connection the server has closed meanwhile is replaced once, not
  counted as a failure.  `close()` closes them all.
"""

import base64
import http.client
import ipaddress
import json
import os
import threading
import time
import urllib.parse

from hakobune.errors import InvalidArgument, NotFound, SystemFailure, Unauthorized  # noqa: F401 - re-exported
from hakobune.image.registry.auth import Credentials, credentials_for, parse_challenges

DOCKER_HUB_HOST = "registry-1.docker.io"
TIMEOUT = 60
RETRIES = 4
BACKOFF = 0.25
MAX_RETRY_AFTER = 30
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


_BODILESS_ERRORS = {401: "unauthorized: authentication required",
                    403: "denied: requested access to the resource is denied"}


class Transient(Exception):
    """A failure worth trying again (internal)."""


def registry_host(domain: str) -> str:
    return DOCKER_HUB_HOST if domain in ("docker.io", "index.docker.io") else domain


def is_loopback(host: str) -> bool:
    name = host
    if name.startswith("["):
        name = name[1:name.index("]")]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def insecure_hosts(extra=()) -> set[str]:
    listed = {h.strip() for h in os.environ.get("HAKOBUNE_INSECURE_REGISTRIES", "").split(",") if h.strip()}
    return listed | set(extra)


DRAIN_LIMIT = 65536


class Response:
    """An HTTP response with its connection; close() closes the response and
    gives the connection back to `release` when it can serve another
    request (else closes it)."""

    def __init__(self, connection, response, url, release=None):
        self.connection = connection
        self.raw = response
        self.status = response.status
        self.headers = response.headers
        self.url = url
        self.release = release
        self._closed = False

    def read(self, size: int = -1) -> bytes:
        try:
            return self.raw.read(size) if size is not None and size >= 0 else self.raw.read()
        except (http.client.IncompleteRead, OSError, http.client.HTTPException) as e:
            raise Transient(f"the connection broke while reading {self.url}: {e!r}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        raw = self.raw
        reusable = False
        if self.release is not None and not raw.will_close:
            if not raw.isclosed() and raw.length is not None and raw.length <= DRAIN_LIMIT:
                try:
                    raw.read()
                except (OSError, http.client.HTTPException):
                    pass
            reusable = raw.isclosed()
        raw.close()
        if reusable:
            self.release(self.connection)
        else:
            self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def error_text(self) -> str:
        """The registry's error, as ``code: message`` (the API's JSON errors)."""
        try:
            body = self.raw.read(65536)
            doc = json.loads(body)
            errors = doc.get("errors") or []
            parts = [f"{str(e.get('code', '')).lower().replace('_', ' ')}: {e.get('message', '')}"
                     for e in errors if isinstance(e, dict)]
            if parts:
                return "; ".join(parts)
            return body.decode(errors="replace").strip()[:200]
        except Exception:  # noqa: BLE001 - the body is only for the message
            # no JSON errors (a HEAD's answer has no body): the distribution client's words
            return _BODILESS_ERRORS.get(self.status) or http.client.responses.get(self.status, str(self.status))
        finally:
            self.close()


class Client:
    def __init__(self, domain: str, insecure_registries=(), credentials: Credentials | None = None,
                 retries: int | None = None, backoff: float | None = None):
        self.domain = domain
        self.host = registry_host(domain)
        insecure = insecure_hosts(insecure_registries)
        self.scheme = "http" if is_loopback(self.host) or self.host in insecure or domain in insecure else "https"
        self.base = f"{self.scheme}://{self.host}"
        self._credentials = credentials
        self._credentials_looked_up = credentials is not None
        self.retries = RETRIES if retries is None else retries
        self.backoff = BACKOFF if backoff is None else backoff
        self._lock = threading.Lock()
        self._scheme_in_use: str | None = None  # "basic" or "bearer", once a challenge said so
        self._bearer: dict = {}  # realm, service
        self._tokens: dict[str, str] = {}  # scope → token
        self._local = threading.local()  # .idle: (scheme, host, port) → connection
        self._opened: list = []

    # --- credentials and tokens -----------------------------------------------

    @property
    def credentials(self) -> Credentials | None:
        if not self._credentials_looked_up:
            self._credentials = credentials_for(self.domain if self.host == DOCKER_HUB_HOST else self.host)
            self._credentials_looked_up = True
        return self._credentials

    def _authorization(self, scope: str) -> str | None:
        credentials = self.credentials
        if credentials is not None and credentials.registry_token:
            return f"Bearer {credentials.registry_token}"
        with self._lock:
            if self._scheme_in_use == "basic" and self.credentials is not None:
                return _basic(self.credentials)
            if self._scheme_in_use == "bearer":
                token = self._tokens.get(scope)
                return f"Bearer {token}" if token else None
        return None

    def _answer_challenge(self, header: str, scope: str) -> bool:
        """Prepare to answer a 401; False when there is nothing more to try."""
        challenges = dict(parse_challenges(header))
        if "bearer" in challenges:
            params = challenges["bearer"]
            realm = params.get("realm")
            if not realm:
                raise SystemFailure(f"the registry {self.host} asked for a token without saying where from")
            wanted = scope or params.get("scope", "")
            with self._lock:
                had = self._tokens.get(wanted)
                self._scheme_in_use = "bearer"
                self._bearer = {"realm": realm, "service": params.get("service", "")}
            if had is not None and not params.get("error") == "invalid_token":
                return False  # a token for this scope was refused: no access
            token = self._fetch_token(wanted)
            with self._lock:
                self._tokens[wanted] = token
            return True
        if "basic" in challenges:
            with self._lock:
                if self._scheme_in_use == "basic" or self.credentials is None:
                    return False
                self._scheme_in_use = "basic"
            return True
        return False

    def _fetch_token(self, scope: str) -> str:
        query = [("service", self._bearer["service"])] if self._bearer.get("service") else []
        query += [("scope", s) for s in scope.split(" ") if s]
        realm = self._bearer["realm"]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {}
        method, body = "GET", None
        if self.credentials is not None and self.credentials.identity_token:
            # OAuth2: the refresh token is traded for an access token (POST, a form)
            method, url = "POST", realm
            form = [("grant_type", "refresh_token"), ("refresh_token", self.credentials.identity_token),
                    ("client_id", "hakobune"), *query]
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self.credentials is not None:
            headers["Authorization"] = _basic(self.credentials)
        response = self._send(method, url, headers, body, redirects=3)
        with response:
            if response.status == 401 or response.status == 403:
                raise Unauthorized(f"unauthorized: the token server {_origin(realm)} refused the credentials: "
                                   f"{response.error_text()}")
            if response.status != 200:
                raise SystemFailure(f"the token server {_origin(realm)} answered {response.status}: "
                                    f"{response.error_text()}")
            try:
                doc = json.loads(response.read())
                token = doc.get("token") or doc.get("access_token")
            except (ValueError, AttributeError):
                token = None
        if not isinstance(token, str) or not token:
            raise SystemFailure(f"the token server {_origin(realm)} sent no token")
        return token

    # --- requests ---------------------------------------------------------------

    def request(self, method: str, path: str, headers: dict | None = None, body=None, scope: str = "",
                expect=(200,)) -> Response:
        """`method` on `path` (under ``/v2/``, or an absolute URL the registry
        gave), authenticated and retried; a response whose status is in
        `expect` is returned open, others become errors (401/403 Unauthorized,
        404 NotFound, others SystemFailure).  `body` is bytes or a function
        returning a fresh binary file object (for a retry)."""
        url = path if "://" in path else self.base + path
        authorized_once = False
        attempt = 0
        while True:
            sent = dict(headers or {})
            authorization = self._authorization(scope)
            if authorization:
                sent["Authorization"] = authorization
            try:
                response = self._send(method, url, sent, body)
            except Transient as e:
                attempt = self._pause(attempt, str(e), None)
                continue
            if response.status == 401 and 401 not in expect and not authorized_once:
                challenge = response.headers.get("WWW-Authenticate", "")
                text = response.error_text()
                authorized_once = True
                if self._answer_challenge(challenge, scope):
                    continue
                raise Unauthorized(text if text.startswith(("unauthorized", "denied")) else f"unauthorized: {text}")
            if response.status in expect:
                return response
            if response.status in _TRANSIENT_STATUS and attempt < self.retries:
                retry_after = response.headers.get("Retry-After")
                text = response.error_text()
                attempt = self._pause(attempt, f"{response.status} {text}", retry_after)
                continue
            raise self._error(method, url, response)

    def _pause(self, attempt: int, why: str, retry_after: str | None) -> int:
        if attempt >= self.retries:
            raise SystemFailure(f"the registry {self.host} failed after {attempt + 1} attempts: {why}")
        delay = self.backoff * (2 ** attempt)
        if retry_after:
            try:
                delay = min(max(float(retry_after), 0), MAX_RETRY_AFTER)
            except ValueError:
                pass
        time.sleep(delay)
        return attempt + 1

    def _error(self, method: str, url: str, response: Response) -> Exception:
        status = response.status
        text = response.error_text()
        if status in (401, 403):
            return Unauthorized(f"unauthorized: {text}" if not text.startswith(("unauthorized", "denied"))
                                else text)
        if status == 404:
            return NotFound(text)
        if status in _TRANSIENT_STATUS:
            return SystemFailure(f"the registry {self.host} failed after {self.retries + 1} attempts: "
                                 f"{status} {text}")
        return SystemFailure(f"{method} {urllib.parse.urlsplit(url).path} at {self.host} answered {status}: {text}")

    def _send(self, method: str, url: str, headers: dict, body, redirects: int = 5) -> Response:
        for _ in range(redirects + 1):
            parts = urllib.parse.urlsplit(url)
            key = (parts.scheme, parts.hostname, parts.port)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection, reused = self._connection(parts)
            while True:
                payload = body() if callable(body) else body
                try:
                    connection.request(method, target or "/", body=payload,
                                       headers={"User-Agent": "hakobune", **headers})
                    response = connection.getresponse()
                except (OSError, http.client.HTTPException) as e:
                    connection.close()
                    if reused:  # the server closed the idle connection: try once on a new one
                        connection, reused = self._connection(parts, fresh=True)
                        continue
                    raise Transient(f"{method} {parts.netloc}{parts.path}: {e!r}") from None
                finally:
                    if callable(body) and hasattr(payload, "close"):
                        payload.close()
                break
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                location = urllib.parse.urljoin(url, response.headers["Location"])
                Response(connection, response, url, lambda c, key=key: self._release(key, c)).close()
                if urllib.parse.urlsplit(location).netloc != parts.netloc:
                    headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                if response.status == 303:
                    method, body = "GET", None
                url = location
                continue
            return Response(connection, response, url, lambda c, key=key: self._release(key, c))
        raise SystemFailure(f"too many redirects from {url}")

    def _connection(self, parts, fresh: bool = False):
        """(connection, reused): this thread's idle one to the host, else a new one."""
        key = (parts.scheme, parts.hostname, parts.port)
        idle = self._idle()
        if not fresh and key in idle:
            return idle.pop(key), True
        host, port = parts.hostname, parts.port
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, port, timeout=TIMEOUT)
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        else:
            raise SystemFailure(f"unsupported URL scheme in {parts.geturl()}")
        with self._lock:
            self._opened = [c for c in self._opened if c.sock is not None]
            self._opened.append(connection)
        return connection, False

    def _idle(self) -> dict:
        idle = getattr(self._local, "idle", None)
        if idle is None:
            idle = self._local.idle = {}
        return idle

    def _release(self, key, connection) -> None:
        idle = self._idle()
        other = idle.get(key)
        if other is not None and other is not connection:
            other.close()
        idle[key] = connection

    def close(self) -> None:
        """Close every connection this client opened (idle ones of any thread)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def ping(self) -> None:
        """GET /v2/: the registry speaks the API (auth challenges are for later)."""
        with self.request("GET", "/v2/", expect=(200, 401)):
            pass

    def check_login(self) -> None:
        """The credentials work: /v2/ answers 200 with them (a token if asked)."""
        self._credentials_looked_up = True
        with self.request("GET", "/v2/", expect=(200,)):
            pass


def _basic(credentials: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def repository_scope(path: str, actions: str = "pull") -> str:
    return f"repository:{path}:{actions}"
