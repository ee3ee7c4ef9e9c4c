"""The API's HTTP pieces without a socket: chunked bodies, Docker's query
parameters and filters, the route table and version prefixes."""

import io
import json

import pytest

from hakobune.api import http as H
from hakobune.api.progress import message
from hakobune.api.routes import Router
from hakobune.errors import InvalidArgument, NotFound


def test_chunked_body_with_extensions_and_trailers():
    raw = io.BytesIO(b"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer: x\r\n\r\nNEXT")
    reader = H.ChunkedReader(raw)
    assert reader.read(2) + reader.read() == b"abcdefg"
    assert reader.read() == b""
    assert raw.read() == b"NEXT"  # the next request starts where the body ended


def test_truncated_chunked_body_is_an_error():
    with pytest.raises(InvalidArgument):
        H.ChunkedReader(io.BytesIO(b"10\r\nshort")).read()


def test_query_parameters_and_filters():
    request = H.Request("GET", "/x", "all=1&force=false&t=5&filters=" + json.dumps({"label": {"a=1": True}}),
                        {}, H.LengthReader(io.BytesIO(b""), 0), "1.41")
    assert request.flag("all") and not request.flag("force") and not request.flag("missing")
    assert request.integer("t") == 5
    assert request.filters() == {"label": ["a=1"]}
    with pytest.raises(InvalidArgument):
        H.Request("GET", "/x", "filters=nope", {}, None, None).filters()


def test_routes_versions_and_methods():
    router = Router(engine="the engine")
    router.add("GET", "/images/{name*}/json", lambda engine, request: (engine, request.params, request.version))
    router.add("DELETE", "/containers/{id}", lambda engine, request: request.params)
    assert router.handle("GET", "/v1.41/images/localhost:5000/a/b:1/json", "", {}, None) == \
        ("the engine", {"name": "localhost:5000/a/b:1"}, "1.41")
    assert router.handle("HEAD", "/images/x/json", "", {}, None)[2] is None
    assert router.handle("GET", "/containers/abc", "", {}, None).status == 405
    with pytest.raises(NotFound, match="page not found"):
        router.handle("GET", "/nothing", "", {}, None)
    with pytest.raises(InvalidArgument, match="too old"):
        router.handle("GET", "/v1.12/images/x/json", "", {}, None)


def test_progress_messages_in_dockers_shape():
    from hakobune.image.registry.events import Bytes

    assert message("latest: Pulling from library/busybox") == {"status": "Pulling from library/busybox",
                                                               "id": "latest"}
    assert message("Pulling fs layer", "abc") == {"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"}
    downloading = message(Bytes("Downloading", 1500000, 3000000), "abc")
    assert downloading["progressDetail"] == {"current": 1500000, "total": 3000000}
    assert downloading["progress"].endswith("] 1.5MB/3MB")
    assert message("Digest: sha256:00") == {"status": "Digest: sha256:00"}
