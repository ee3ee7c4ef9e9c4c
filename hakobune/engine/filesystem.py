"""The engine's part for diff, commit, cp (archive) and export: a container's filesystem."""


class FilesystemOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""
