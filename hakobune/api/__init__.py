"""The Docker Engine API server (issue: engine API): `hakobune serve`, a thin
HTTP layer over the engine that maps engine errors to status codes once."""
