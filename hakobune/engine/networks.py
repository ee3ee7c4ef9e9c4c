"""The engine's part for networks: create, list, inspect, connect, disconnect, remove, prune (delegating to hakobune.network)."""


class NetworkOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""
