"""The engine's part for volumes: create, list, inspect, remove, prune (delegating to hakobune.volume)."""


class VolumeOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""
