"""GET /events: the engine's event journal as Docker's stream of JSON
documents, one per line: those since `since` (replayed), then new ones as
they happen until `until` (or, without it, until the client hangs up)."""

from __future__ import annotations

from hakobune.api import http as H


def register(router) -> None:
    router.add("GET", "/events", events)


def events(engine, request):
    from hakobune.engine import events as E
    from hakobune.engine.engine import _time_bound_ns

    since, until, filters = request.arg("since") or None, request.arg("until") or None, request.filters()
    # bad filters and times are a 400 before the stream starts
    E.check_filters({key: list(values) for key, values in filters.items() if values})
    for bound in (since, until):
        if bound:
            _time_bound_ns(bound)
    watch = H.ClientWatch()
    documents = engine.events(since=since, until=until, filters=filters, stop=watch.gone)
    return H.Stream(200, H.json_lines(documents), watch=watch)
