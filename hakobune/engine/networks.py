"""The engine's part for networks: create, list, inspect, connect, disconnect, remove, prune (delegating to hakobune.network)."""


class NetworkOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""

    @property
    def network_store(self):
        store = getattr(self, "_network_store", None)
        if store is None:
            from hakobune.network.manager import Networks

            store = self._network_store = Networks(self.root)
        return store

    def create_network(self, name: str, driver: str = "bridge", **options) -> dict:
        """POST /networks/create: {"Id", "Warning"}.  Options: subnet, gateway,
        ip_range, internal, attachable, labels, options (driver options)."""
        return self.network_store.create(name, driver, **options)

    def networks(self, filters: dict | None = None) -> list[dict]:
        """GET /networks."""
        return self.network_store.list(filters)

    def network_inspect(self, name: str) -> dict:
        """GET /networks/{id}."""
        return self.network_store.inspect(name)

    def remove_network(self, name: str) -> str:
        """DELETE /networks/{id}: the removed network's name."""
        return self.network_store.remove(name)

    def prune_networks(self, filters: dict | None = None) -> dict:
        """POST /networks/prune: {"NetworksDeleted": [names]}."""
        return self.network_store.prune(filters)

    def connect_network(self, network: str, container_id: str, netns_path: str | None, aliases=(),
                        ip: str | None = None, name: str = "") -> dict:
        """POST /networks/{id}/connect, given the container's netns path: its EndpointSettings."""
        return self.network_store.attach(container_id, netns_path, network, aliases=aliases, ip=ip, name=name)

    def disconnect_network(self, network: str, container_id: str) -> bool:
        """POST /networks/{id}/disconnect: False when the container was not on it."""
        return self.network_store.detach(container_id, network)

    def publish_ports(self, container_id: str, network: str, mappings: list[dict]) -> list[dict]:
        """DNAT host ports to the container on `network` (see hakobune.network.ports)."""
        return self.network_store.publish(container_id, network, mappings)

    def release_network_resources(self, container_id: str) -> None:
        """Everything networking holds for a container: veths, addresses, ports."""
        self.network_store.release(container_id)

    def reclaim_networks(self, live_container_ids) -> list[str]:
        """Free what dead containers still hold (after a crash); the ids freed."""
        return self.network_store.reclaim(live_container_ids)
