"""The engine library (issue: containers): joins images, volumes, networks and
the runtime into Docker's objects — containers with their read-write layer,
monitors, restart policies and health checks.  cli, api and compose call it."""

__all__ = ["Engine"]


def __getattr__(name):
    # `from hakobune.engine import Engine` without importing the engine's
    # modules when only the package is imported.
    if name == "Engine":
        from hakobune.engine.engine import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
