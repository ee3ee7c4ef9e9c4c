"""The engine's part for exec, top and stats: a container's processes."""


class ProcessOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""
