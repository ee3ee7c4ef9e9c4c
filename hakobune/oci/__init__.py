"""Plain OCI data: the runtime spec's config.json and state, Docker's default
configuration, and (later) the image spec's manifests, indexes and configs.

Nothing here does I/O beyond reading a file it is handed, and nothing here
imports another hakobune package except `errors`.
"""
