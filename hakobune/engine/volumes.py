"""The engine's part for volumes: create, list, inspect, remove, prune (delegating to hakobune.volume).

The volume store (hakobune.volume.store) knows nothing of containers; the
engine answers its question "who uses this volume?" with `RecordVolumeUsers`,
which reads the containers' records: each record keeps the mounts prepared
at create (hakobune.volume.attach.prepare_mounts) under ``VOLUME_MOUNTS_KEY``.

Wiring into the container life cycle (hakobune.volume.attach):
  create: mounts = volume.spec.mounts_of_create(Config, HostConfig, inherited)
          record[VOLUME_MOUNTS_KEY] = attach.prepare_mounts(self.volume_store, mounts, id)
  start:  spec["mounts"] += attach.resolve_mounts(self.volume_store, mounts, id, rootfs)
  stop:   attach.release_mounts(self.volume_store, mounts, id)
  rm -v:  for name in attach.anonymous_volumes(mounts): self.remove_volume(name, force=True)
  inspect: [attach.mount_point(m, self.volume_store) for m in mounts]
"""

VOLUME_MOUNTS_KEY = "VolumeMounts"


class RecordVolumeUsers:
    """hakobune.volume.store.VolumeUsers from the container records."""

    def __init__(self, lifecycle_of):
        self._lifecycle_of = lifecycle_of

    def references(self) -> dict[str, list[str]]:
        references: dict[str, list[str]] = {}
        for record in self._lifecycle_of().store.records():
            for mount in record.get(VOLUME_MOUNTS_KEY) or ():
                if mount.get("Type") == "volume" and mount.get("Source"):
                    users = references.setdefault(mount["Source"], [])
                    if record["Id"] not in users:
                        users.append(record["Id"])
        return references

    def containers_using(self, name: str) -> list[str]:
        return self.references().get(name, [])


class VolumeOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""

    @property
    def volume_store(self):
        store = getattr(self, "_volume_store", None)
        if store is None:
            from hakobune.volume.store import VolumeStore

            store = VolumeStore(self.root, self.runroot, users=RecordVolumeUsers(lambda: self.lifecycle))
            self._volume_store = store
        return store

    def create_volume(self, name: str | None = None, driver: str | None = None, labels: dict | None = None,
                      options: dict | None = None) -> dict:
        """POST /volumes/create: the Volume (an existing one of that name as it is)."""
        return self.volume_store.create(name or None, driver, labels, options)

    def volumes(self, filters: dict | None = None) -> dict:
        """GET /volumes: {"Volumes": [...], "Warnings": None}."""
        return {"Volumes": self.volume_store.list(filters), "Warnings": None}

    def volume_inspect(self, name: str) -> dict:
        """GET /volumes/{name}."""
        return self.volume_store.get(name)

    def remove_volume(self, name: str, force: bool = False) -> None:
        """DELETE /volumes/{name}: Conflict while a container uses it; `force` ignores a missing one."""
        self.volume_store.remove(name, force)

    def prune_volumes(self, all: bool = False, filters: dict | None = None) -> dict:  # noqa: A002
        """POST /volumes/prune: {"VolumesDeleted", "SpaceReclaimed"}."""
        return self.volume_store.prune(all, filters)

    def volumes_disk_usage(self) -> list[dict]:
        """GET /system/df's Volumes: each with UsageData {Size, RefCount}."""
        return self.volume_store.usage()

    def volume_usage(self) -> dict:
        """The `system df` Local Volumes row: TotalCount, ActiveCount, Size, Reclaimable."""
        from hakobune.volume.store import volume_usage

        return volume_usage(self.volume_store.usage())
