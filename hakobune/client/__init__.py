"""The CLI as a client of a Docker Engine API (`hakobune serve`, or a real
dockerd) chosen by -H/--host, DOCKER_HOST or a docker CLI context:
`endpoint` resolves where, `http` speaks HTTP/1.1 and the API's stream
framings, `connection` negotiates the version and maps errors to
hakobune.errors kinds, `engine` is `RemoteEngine`, the same methods the
CLI's handlers call on hakobune.engine.Engine mapped to API calls (cp's archives and login
included), and `errors` the client's own errors (printed as they are).
The remote forms of the handlers that follow a container or relay a
terminal (run, start -a, attach, logs, ps, exec, version, build) are the
CLI's own, in hakobune/cli/remote.py.  Imported only when a host is asked
for: the local hot path never loads it."""


def remote_engine(inv):
    """The RemoteEngine for the invocation's global options and environment,
    or None when they ask for the local engine."""
    from hakobune.client.endpoint import EndpointError, resolve
    from hakobune.client.errors import ClientError

    try:
        endpoint = resolve(inv.globals)
    except EndpointError as e:
        raise ClientError(f"Failed to initialize: {e}", 1) from None
    if endpoint is None:
        return None
    from hakobune.client.engine import RemoteEngine

    return RemoteEngine(endpoint, inv.command_path)
