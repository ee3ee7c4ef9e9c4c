"""`hakobune serve`: the Docker Engine API over this store (hakobune.api)."""

import sys


def serve(inv):
    from hakobune.api.routes import build_router
    from hakobune.api.server import DEFAULT_SOCKET, TLSOptions, serve as serve_api
    from hakobune.cli.images import local_engine_of  # a server serves its own store, whatever DOCKER_HOST says

    o = inv.opts
    addresses = list(o.host or []) or [f"unix://{DEFAULT_SOCKET}"]
    tls = TLSOptions(tls=o.tls, verify=o.tlsverify, ca=o.tlscacert or None, cert=o.tlscert or None,
                     key=o.tlskey or None)

    def ready():
        sys.stderr.write(f"hakobune: API listening on {', '.join(addresses)}\n")
        sys.stderr.flush()

    serve_api(build_router(local_engine_of(inv)), addresses, group=o.group or None, tls=tls, ready=ready)
    return 0
