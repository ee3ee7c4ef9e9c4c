"""Volumes (issue: volumes): named and anonymous volumes of the local driver,
kept outside any container's life cycle; hands the engine mounts to make."""
