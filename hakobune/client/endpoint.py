"""Which Engine API the CLI talks to, resolved as the docker CLI does:
`-H/--host`, else `--context`, else DOCKER_CONTEXT, else DOCKER_HOST;
a context other than `default` comes from the docker CLI's context store
(`<config>/contexts/meta/<sha256 of the name>/meta.json`, Endpoints.docker;
its TLS files under `<config>/contexts/tls/<sha256>/docker/`).  None means
the local, daemonless engine.  TLS for tcp:// hosts from --tls/--tlsverify
(or DOCKER_TLS_VERIFY) with --tlscacert/--tlscert/--tlskey (their defaults
come from DOCKER_CERT_PATH).  The config file's `currentContext` is not
read: only an explicit host or context leaves the local engine."""

import os

DEFAULT_TCP_PORT = 2375
DEFAULT_TLS_PORT = 2376


class EndpointError(Exception):
    """The host or context cannot be used (docker: "Failed to initialize: ...")."""


class Endpoint:
    """Where the API is: `scheme` unix or tcp, `path` or (`hostname`, `port`),
    `host` as the user wrote it (for messages), an ssl context or None."""

    def __init__(self, host: str, context: str = "default", tls=None):
        self.host = host
        self.context = context
        self.tls = tls
        scheme, sep, rest = host.partition("://")
        if not sep:
            raise EndpointError(f"unable to resolve docker endpoint: invalid bind address format: {host}")
        self.scheme = scheme
        if scheme == "unix":
            if not rest:
                raise EndpointError(f"unable to resolve docker endpoint: invalid bind address format: {host}")
            self.path = rest
            self.http_host = "api.moby.localhost"
        elif scheme == "tcp":
            address = rest.split("/", 1)[0]
            hostname, port = _split_host_port(address, DEFAULT_TLS_PORT if tls is not None else DEFAULT_TCP_PORT)
            if not hostname:
                raise EndpointError(f"unable to resolve docker endpoint: invalid bind address format: {host}")
            self.hostname, self.port = hostname, port
            self.http_host = address if ":" in address else f"{address}:{port}"
        elif scheme in ("ssh", "npipe", "fd"):
            raise EndpointError(f"unable to resolve docker endpoint: {scheme}:// hosts are not supported yet: {host}")
        else:
            raise EndpointError(f"unable to resolve docker endpoint: invalid bind address format: {host}")

    def connect(self, timeout: float | None = None):
        """A connected socket (OSError when nothing listens)."""
        import socket

        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            return sock
        sock = socket.create_connection((self.hostname, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.hostname)
            except BaseException:
                sock.close()
                raise
        return sock


def _split_host_port(address: str, default_port: int) -> tuple[str, int]:
    if address.startswith("["):
        hostname, _, rest = address[1:].partition("]")
        port_text = rest.lstrip(":")
    elif address.count(":") == 1:
        hostname, _, port_text = address.partition(":")
    else:
        hostname, port_text = address, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise EndpointError(f"unable to resolve docker endpoint: invalid bind address format: {address}") \
            from None
    return hostname, port


def requested(globals_, environ=None) -> bool:
    """Whether anything asks for a remote engine (cheap: no file is read)."""
    environ = os.environ if environ is None else environ
    return bool(getattr(globals_, "host", None) or getattr(globals_, "context", None)
                or environ.get("DOCKER_HOST") or environ.get("DOCKER_CONTEXT"))


def resolve(globals_, environ=None) -> Endpoint | None:
    """The endpoint the global options and the environment ask for; None: local."""
    environ = os.environ if environ is None else environ
    hosts = list(getattr(globals_, "host", None) or ())
    context = getattr(globals_, "context", "") or ""
    if hosts and context:
        raise EndpointError("conflicting options: cannot specify both --host and --context")
    if len(hosts) > 1:
        raise EndpointError("unable to resolve docker endpoint: Specify only one -H")
    if hosts:
        return Endpoint(hosts[0].strip(), "default", _tls_of(globals_, environ, hosts[0]))
    context = context or environ.get("DOCKER_CONTEXT", "")
    if context and context != "default":
        return _context_endpoint(globals_, environ, context)
    host = environ.get("DOCKER_HOST", "")
    if host:
        return Endpoint(host.strip(), "default", _tls_of(globals_, environ, host))
    return None


def _tls_of(globals_, environ, host: str):
    """An ssl context for a tcp:// host when --tls, --tlsverify or DOCKER_TLS_VERIFY ask for one."""
    verify = bool(getattr(globals_, "tlsverify", False)) or bool(environ.get("DOCKER_TLS_VERIFY"))
    if not host.startswith("tcp://") or not (verify or getattr(globals_, "tls", False)):
        return None
    certs = environ.get("DOCKER_CERT_PATH") or os.path.join(_config_dir(globals_, environ))
    ca = getattr(globals_, "tlscacert", "") or os.path.join(certs, "ca.pem")
    cert = getattr(globals_, "tlscert", "") or os.path.join(certs, "cert.pem")
    key = getattr(globals_, "tlskey", "") or os.path.join(certs, "key.pem")
    return tls_context(verify, ca, cert, key)


def tls_context(verify: bool, ca: str | None, cert: str | None, key: str | None):
    """Docker's client TLS: the CA checks the server when verifying; a
    client certificate is offered when its files exist."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if verify:
        try:
            context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as e:
            raise EndpointError(f"could not read CA certificate {ca!r}: {_reason(e)}") from None
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert and key and os.path.exists(cert) and os.path.exists(key):
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            raise EndpointError(f"could not load X509 key pair: {_reason(e)}") from None
    elif verify and cert and key and (os.path.exists(cert) != os.path.exists(key)):
        raise EndpointError(f"could not load X509 key pair: open {cert if not os.path.exists(cert) else key}: "
                            "no such file or directory")
    return context


def _reason(error) -> str:
    return getattr(error, "strerror", None) or str(error)


def _config_dir(globals_, environ) -> str:
    return (getattr(globals_, "config", "") or environ.get("DOCKER_CONFIG")
            or os.path.join(os.path.expanduser("~"), ".docker"))


def _context_endpoint(globals_, environ, name: str) -> Endpoint:
    import hashlib
    import json

    digest = hashlib.sha256(name.encode()).hexdigest()
    config = _config_dir(globals_, environ)
    meta_path = os.path.join(config, "contexts", "meta", digest, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise EndpointError(f'unable to resolve docker endpoint: context "{name}": context not found: '
                            f"open {meta_path}: no such file or directory") from None
    except (OSError, ValueError) as e:
        raise EndpointError(f'unable to resolve docker endpoint: context "{name}": {e}') from None
    docker = ((meta.get("Endpoints") or {}).get("docker") or {})
    host = docker.get("Host") or ""
    if not host:
        raise EndpointError(f'unable to resolve docker endpoint: context "{name}" has no docker endpoint')
    tls = None
    if host.startswith("tcp://"):
        tls_dir = os.path.join(config, "contexts", "tls", digest, "docker")
        ca, cert, key = (os.path.join(tls_dir, f) for f in ("ca.pem", "cert.pem", "key.pem"))
        if os.path.isdir(tls_dir) or docker.get("SkipTLSVerify"):
            verify = not docker.get("SkipTLSVerify") and os.path.exists(ca)
            tls = tls_context(verify, ca, cert, key)
    return Endpoint(host, name, tls)
