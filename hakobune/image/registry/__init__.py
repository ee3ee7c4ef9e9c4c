"""Registries: pull and push images over the OCI distribution API, with
Docker's credentials and token auth (`client`, `auth`, `pulling`, `pushing`).

Everything here imports http.client, ssl and threads, so nothing is imported
until a function is called: `hakobune run` of a local image pays nothing.
"""


def pull(store, reference, platform=None, progress=None, insecure_registries=(), credentials=None):
    """Pull `reference` into `store`; returns the image id (see `pulling.pull`).
    `credentials` (auth.Credentials) replace the user's stored ones."""
    from hakobune.image.registry.pulling import pull as _pull
    return _pull(store, reference, platform=platform, progress=progress, insecure_registries=insecure_registries,
                 credentials=credentials)


def push(store, reference, progress=None, insecure_registries=(), credentials=None):
    """Push the image `reference` names; returns the manifest's digest (see `pushing.push`)."""
    from hakobune.image.registry.pushing import push as _push
    return _push(store, reference, progress=progress, insecure_registries=insecure_registries,
                 credentials=credentials)


def login(host, username, password, verify=True, insecure_registries=()):
    """Store credentials for `host` in the Docker config (see `auth.login`)."""
    from hakobune.image.registry.auth import login as _login
    return _login(host, username, password, verify=verify, insecure_registries=insecure_registries)


def logout(host):
    from hakobune.image.registry.auth import logout as _logout
    return _logout(host)


def list_tags(reference, insecure_registries=(), credentials=None) -> list[str]:
    """The tags of `reference`'s repository in its registry (`pulling.list_tags`)."""
    from hakobune.image.registry.pulling import list_tags as _list_tags
    return _list_tags(reference, insecure_registries=insecure_registries, credentials=credentials)
