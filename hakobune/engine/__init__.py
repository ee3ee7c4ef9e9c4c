"""The engine library (issue: containers): joins images, volumes, networks and
the runtime into Docker's objects — containers with their read-write layer,
monitors, restart policies and health checks.  cli, api and compose call it."""
