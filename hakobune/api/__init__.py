"""The Docker Engine API over hakobune's engine: `hakobune serve`.

    http.py      requests and responses: bodies (length or chunked), JSON,
                 chunked streams, hijacked connections, the error body
    server.py    listeners (unix socket 0600 by default, TCP with TLS) and
                 the HTTP/1.1 connection loop, one thread per connection
    routes.py    the route table: method + path template -> handler, with
                 the version prefix (/v1.24 ... /v1.41) taken off
    system.py, images.py, containers.py ...   the handlers: each parses the
                 request, calls the Engine, and answers in Docker's shapes:
                 exec.py (+ exec_runner.py, the process an exec runs in),
                 processes.py (top, stats, update), volumes.py,
                 networks.py, events.py, build.py (the classic builder)

The API is a thin shell: nothing here decides anything the CLI does not
decide through the same Engine methods.  Errors are the engine's kinds,
mapped once (`http.error_response`) to their status and `{"message": ...}`.
"""

API_VERSION = "1.41"
MIN_API_VERSION = "1.24"
