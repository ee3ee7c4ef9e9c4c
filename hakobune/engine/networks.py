"""The engine's part for networks: create, list, inspect, connect, disconnect, remove, prune (delegating to
hakobune.network; a container's own wiring is hakobune.engine.netsetup)."""


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
        ip_range (or ipam_config: IPAM.Config's pools, IPv4 and IPv6),
        enable_ipv6, internal, attachable, labels, options (driver options)."""
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
        """POST /networks/prune: {"NetworksDeleted": [names]}.  What dead
        containers still hold (a killed monitor, a reboot) is freed first,
        so that their networks count as unused."""
        self.reclaim_container_networks()
        return self.network_store.prune(filters)

    def connect_container(self, network: str, container: str, aliases=(), ip: str = "", ip6: str = "",
                          mac: str = "") -> None:
        """POST /networks/{id}/connect for a container by name or id: hot-plugged
        when it runs (eth1, ...), recorded for its next start either way."""
        from hakobune.engine import netsetup

        netsetup.connect(self.lifecycle, network, container, aliases=aliases, ip=ip, ip6=ip6, mac=mac)

    def disconnect_container(self, network: str, container: str, force: bool = False) -> None:
        """POST /networks/{id}/disconnect for a container by name or id."""
        from hakobune.engine import netsetup

        netsetup.disconnect(self.lifecycle, network, container, force=force)

    def reclaim_container_networks(self) -> list[str]:
        """Addresses, veths, ports, DNS names and namespaces of containers that
        died without releasing them; the container ids freed."""
        from hakobune.engine import netsetup

        return netsetup.reclaim(self.lifecycle)

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
