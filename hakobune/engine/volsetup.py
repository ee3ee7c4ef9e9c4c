"""A container's volumes and mounts through its life cycle: what Lifecycle calls.

The container engine (hakobune.engine.containers.Lifecycle) calls one
function of this module at each step; the mounts themselves are
hakobune.volume's (spec: parsing, attach: preparing, resolving, releasing).

    create:  mounts = parse(lc, config, host_config)            # bad input: nothing made yet
             with locked(lc, mounts):                             # the volume store's lock
                 ...record added...
                 record[VOLUME_MOUNTS_KEY] = prepare(lc, record, mounts)   # volumes made, targets checked
                 ...record written...                             # forget_failed(lc, record) on failure
    start:   add_mounts(lc, record, spec, rootfs)                # OCI entries, copy-up
    exit:    release(lc, record)                                 # device volumes after the last user
    rm:      remove_anonymous(lc, record, volumes)               # rm -v, --rm: the anonymous volumes
    inspect: mount_points(lc, record)                            # Docker's Mounts

The volume store is the one of hakobune.engine.volumes (same root and
runroot, containers' records answering "who uses this volume?"); a
Lifecycle keeps one, made on first use.
"""

from __future__ import annotations

import contextlib

from hakobune.engine.volumes import VOLUME_MOUNTS_KEY


def volume_store(lifecycle):
    """The lifecycle's volume store (made on first use)."""
    store = getattr(lifecycle, "_volume_store", None)
    if store is None:
        from hakobune.engine.volumes import RecordVolumeUsers
        from hakobune.volume.store import VolumeStore

        store = VolumeStore(lifecycle.root, lifecycle.runroot, users=RecordVolumeUsers(lambda: lifecycle))
        lifecycle._volume_store = store
    return store


def mounts_of(record: dict) -> list[dict]:
    return list(record.get(VOLUME_MOUNTS_KEY) or ())


# --- create ------------------------------------------------------------------------------

def parse(lifecycle, config: dict, host_config: dict) -> list[dict]:
    """Every mount a create body asks for (--volumes-from first, then -v,
    --mount, --tmpfs, the image's and -v's anonymous volumes), validated
    with Docker's errors, before anything is created."""
    from hakobune.volume import spec

    inherited = []
    for text in host_config.get("VolumesFrom") or ():
        name, mode = spec.parse_volumes_from(text)
        source = lifecycle.store.lookup(name)
        inherited += _inherit(spec, mounts_of(source), mode)
    if not inherited and not _asks_for_mounts(config, host_config):
        return []
    return spec.mounts_of_create(config, host_config, inherited)


def _inherit(spec, mounts: list[dict], mode: str) -> list[dict]:
    """--volumes-from as Docker's daemon copies another container's mount
    points: read-only if the original is or the mode says "ro" (an "rw"
    mode never makes a read-only mount writable), no -v mode kept, no copy-up."""
    read_only = {m["Target"]: m["ReadOnly"] for m in mounts}
    forced = "ro" in mode.split(",")
    return [{**copy, "ReadOnly": read_only[copy["Target"]] or forced, "Mode": "", "CopyData": False}
            for copy in spec.inherit(mounts, mode)]


def _asks_for_mounts(config: dict, host_config: dict) -> bool:
    return bool(config.get("Volumes") or host_config.get("Binds") or host_config.get("Mounts")
                or host_config.get("Tmpfs"))


def locked(lifecycle, mounts: list[dict]):
    """The volume store's lock, held while a container that uses volumes is
    created (no prune sees its new volumes unused); nothing without mounts."""
    if not any(m["Type"] == "volume" for m in mounts):
        return contextlib.nullcontext()
    return volume_store(lifecycle).locked()


def prepare(lifecycle, record: dict, mounts: list[dict]) -> list[dict]:
    """At create, for the record just added: make the volumes (named ones
    if missing, anonymous ones new) and check that each target fits in the
    image (a directory over a file is refused); the mounts to record.  On
    failure the volumes made here are removed again."""
    if not mounts:
        return []
    from hakobune.volume import attach

    store = volume_store(lifecycle)
    prepared: list[dict] = []
    try:
        for mount in mounts:
            new = mount["Type"] == "volume" and (not mount["Source"] or not store.exists(mount["Source"]))
            (done,) = attach.prepare_mounts(store, [mount], record["Id"])
            prepared.append({**done, "_new": True} if new else done)
        _check_targets(lifecycle, record, prepared)
    except BaseException:
        undo(lifecycle, prepared)
        raise
    return [{k: v for k, v in m.items() if k != "_new"} for m in prepared]


def undo(lifecycle, prepared: list[dict]) -> None:
    """Remove the volumes a failed create made (those marked new by `prepare`)."""
    store = volume_store(lifecycle)
    for mount in prepared:
        if mount.get("_new") and mount["Type"] == "volume":
            with contextlib.suppress(Exception):
                store.remove(mount["Source"], force=True)


def forget_failed(lifecycle, record: dict) -> None:
    """A create that failed after `prepare`: its anonymous volumes go (nobody else knows them)."""
    from hakobune.volume import attach

    undo(lifecycle, [{**m, "_new": True} for m in mounts_of(record)
                     if m["Source"] in attach.anonymous_volumes([m])])


def _check_targets(lifecycle, record: dict, mounts: list[dict]) -> None:
    """Refuse, at create, a mount whose kind (file or directory) does not
    match what the image has at its target: the image's root is mounted
    for the look (nothing is created in it) and unmounted again."""
    import os

    from hakobune.engine import rootfs
    from hakobune.volume import attach

    container_dir = lifecycle.store.path(record["Id"])
    layers = lifecycle._image_store_of().layers
    lower = layers.lower_dirs(record["ImageChainId"]) if record.get("ImageChainId") else []
    merged = rootfs.mount(container_dir, lower)
    try:
        for mount in mounts:
            as_file = mount["Type"] == "bind" and os.path.lexists(mount["Source"]) and \
                not os.path.isdir(mount["Source"])
            try:
                attach.resolve_target(merged, mount["Target"], as_file=as_file, create=False)
            except FileNotFoundError:
                continue  # made at start
            except NotADirectoryError:
                source = mount["Source"] if mount["Type"] == "bind" else \
                    (volume_store(lifecycle).data_dir(mount["Source"]) if mount["Type"] == "volume" else "tmpfs")
                attach._target_in(merged, mount["Target"], source, as_file)  # raises Docker's message
    finally:
        rootfs.unmount(container_dir)


# --- start and exit --------------------------------------------------------------------

def add_mounts(lifecycle, record: dict, spec: dict, rootfs: str) -> None:
    """At start: the container's mounts as OCI entries in `spec` (copy-up of
    the image's files into empty volumes, mount points made inside `rootfs`
    with symlinks resolved within it).  A mount of the user's replaces a
    default one at the same destination (/etc/hosts, /dev/shm...), and all
    are ordered parents first, as Docker does."""
    mounts = mounts_of(record)
    if not mounts:
        return
    from hakobune.volume import attach

    entries = attach.resolve_mounts(volume_store(lifecycle), mounts, record["Id"], rootfs)
    taken = {m["Target"] for m in mounts} | {e["destination"] for e in entries}
    kept = [m for m in spec["mounts"] if m["destination"] not in taken]
    spec["mounts"] = sorted(kept + entries, key=lambda m: _depth(m["destination"]))


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


def release(lifecycle, record: dict) -> None:
    """After the container's exit: a device-backed volume is unmounted after its last user."""
    mounts = mounts_of(record)
    if mounts:
        from hakobune.volume import attach

        attach.release_mounts(volume_store(lifecycle), mounts, record["Id"])


def remove_anonymous(lifecycle, record: dict, volumes: bool) -> None:
    """After rm: with `volumes` (rm -v) or for a --rm container, remove the
    anonymous volumes it made; one still used by another container (through
    --volumes-from) is kept, as Docker keeps it."""
    mounts = mounts_of(record)
    if not mounts:
        return
    release(lifecycle, record)
    if not (volumes or (record.get("HostConfig") or {}).get("AutoRemove")):
        return
    from hakobune.errors import HakobuneError
    from hakobune.volume import attach

    store = volume_store(lifecycle)
    for name in attach.anonymous_volumes(mounts):
        with contextlib.suppress(HakobuneError):
            store.remove(name, force=True)


# --- inspect ---------------------------------------------------------------------------

def mount_points(lifecycle, record: dict) -> list[dict]:
    """inspect's Mounts: Docker's MountPoint for each mount (--tmpfs ones
    are not listed, as Docker does not list them)."""
    mounts = [m for m in mounts_of(record) if m.get("Origin") != "tmpfs"]
    if not mounts:
        return []
    from hakobune.volume import attach

    store = volume_store(lifecycle)
    return [attach.mount_point(m, store) for m in mounts]
