"""Volumes: storage outside the image and any container's life cycle.

- `store`: named and anonymous volumes of the local driver under
  ``<root>/volumes/<name>/_data`` (Docker's layout), one durable record each,
  create/list/inspect/remove/prune, sizes; knows nothing of containers — the
  engine says who uses what through `VolumeUsers`.
- `local`: the local driver's options (``type``/``device``/``o``): the device
  mounted on the volume's ``_data`` at first use, unmounted after the last.
- `spec`: what the daemon receives (HostConfig.Binds, Mounts, Tmpfs,
  VolumesFrom, Config.Volumes) as plain mount dicts, with Docker's errors
  (the client's ``--mount`` parser is hakobune.createbody.mounts.parse_mount_flag).
- `attach`: at container start, plain mounts into OCI mount entries, copy-up
  of image content into empty volumes, mount targets resolved inside a rootfs.
"""
