"""The engine's part for `update` (POST /containers/{id}/update): a
container's resources and restart policy changed after its creation.

The record is rewritten durably first (a later start applies the new
values); a running container's cgroup is then changed live through its OCI
runtime's `update`, and its monitor takes the new restart policy over its
control socket.
"""

from __future__ import annotations

from hakobune.errors import InvalidArgument, SystemFailure

# UpdateConfig's resource fields that `update` applies (Docker's names).
UPDATABLE = ("CpuShares", "Memory", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
             "MemoryReservation", "MemorySwap", "PidsLimit")


def merged_host_config(host: dict, update: dict) -> dict:
    """HostConfig after `update` (Docker's UpdateContainer): only the fields
    given (non-zero) change; checks as Docker's daemon does."""
    from hakobune.engine.create import check_resources

    check_resources(update, update=True)
    new = dict(host)
    memory, swap = update.get("Memory") or 0, update.get("MemorySwap") or 0
    if memory:
        current_swap = host.get("MemorySwap") or 0
        if current_swap > 0 and memory > current_swap and not swap:
            raise InvalidArgument("Memory limit should be smaller than already set memoryswap limit, "
                           "update the memoryswap at the same time")
    nano = update.get("NanoCpus") or 0
    # NanoCpus sets the CFS period and quota: once one is set, the other cannot be updated.
    for wanted, present, text in (("NanoCpus", "CpuPeriod", "CPU Period"), ("NanoCpus", "CpuQuota", "CPU Quota"),
                                  ("CpuPeriod", "NanoCpus", "CPU Period"), ("CpuQuota", "NanoCpus", "CPU Quota")):
        if (update.get(wanted) or 0) > 0 and (host.get(present) or 0) > 0:
            raise InvalidArgument(f"Conflicting options: {text} cannot be updated as NanoCPUs has already been set")
    for field in UPDATABLE:
        value = update.get(field)
        if field == "PidsLimit":
            if value is not None:
                new[field] = value if value > 0 else None
        elif value:
            new[field] = value
    policy = update.get("RestartPolicy") or {}
    if policy.get("Name"):
        if host.get("AutoRemove") and policy["Name"] != "no":
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is enabled for the container")
        if policy["Name"] not in ("no", "always", "unless-stopped", "on-failure"):
            raise InvalidArgument(f"invalid restart policy '{policy['Name']}'")
        if policy["Name"] != "on-failure" and policy.get("MaximumRetryCount"):
            raise InvalidArgument("invalid restart policy: maximum retry count can only be used with 'on-failure'")
        if (policy.get("MaximumRetryCount") or 0) < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
        new["RestartPolicy"] = {"Name": policy["Name"], "MaximumRetryCount": policy.get("MaximumRetryCount") or 0}
    return new


def runtime_update_args(update: dict, host: dict) -> list[str]:
    """runc's `update` flags for the resources the update names (the
    resulting values, from the new HostConfig `host`)."""
    from hakobune.engine.specgen import resources_of

    resources = resources_of(host)
    memory, cpu = resources.get("memory", {}), resources.get("cpu", {})
    args = []
    if update.get("Memory") or update.get("MemorySwap"):
        if "limit" in memory:
            args += ["--memory", str(memory["limit"])]
        if "swap" in memory:
            args += ["--memory-swap", str(memory["swap"])]
    if update.get("MemoryReservation") and "reservation" in memory:
        args += ["--memory-reservation", str(memory["reservation"])]
    if update.get("CpuShares"):
        args += ["--cpu-shares", str(cpu["shares"])]
    if update.get("NanoCpus") or update.get("CpuPeriod") or update.get("CpuQuota"):
        if "period" in cpu:
            args += ["--cpu-period", str(cpu["period"])]
        if "quota" in cpu:
            args += ["--cpu-quota", str(cpu["quota"])]
    if update.get("CpusetCpus"):
        args += ["--cpuset-cpus", cpu["cpus"]]
    if update.get("CpusetMems"):
        args += ["--cpuset-mems", cpu["mems"]]
    if update.get("PidsLimit") is not None:
        args += ["--pids-limit", str(update["PidsLimit"] if update["PidsLimit"] > 0 else -1)]
    return args


class ResourceOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle and self.runroot."""

    def update_container(self, name: str, update: dict) -> list[str]:
        """POST /containers/{id}/update: `update` is Docker's UpdateConfig
        (resource fields and RestartPolicy); returns the warnings."""
        lifecycle = self.lifecycle
        store = lifecycle.store
        container_id = store.lookup(name)["Id"]
        with store.locked():
            record = store.read(container_id)
            host = merged_host_config(record["HostConfig"], update)
            record = {**record, "HostConfig": host}
            store.write(record)
        state = lifecycle.state(record)
        if state["Running"] or state["Restarting"]:
            self._update_running(record, update, host)
        return []

    def _update_running(self, record: dict, update: dict, host: dict) -> None:
        import subprocess

        from hakobune.engine.specgen import runtime_of

        container_id = record["Id"]
        args = runtime_update_args(update, host)
        if args:
            runtime, root = runtime_of(record, self.runroot)
            done = subprocess.run([runtime, "--root", root, "update", *args, container_id],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                reason = (done.stderr or done.stdout).strip().removeprefix("hakobune-runtime: ")
                raise SystemFailure(f"Cannot update container {container_id}: {reason}")
        policy = (update.get("RestartPolicy") or {})
        if policy.get("Name"):
            restart = policy["Name"]
            if restart == "on-failure" and policy.get("MaximumRetryCount"):
                restart += f":{policy['MaximumRetryCount']}"
            try:
                self.lifecycle.handle(container_id).request({"cmd": "update", "restart": restart})
            except SystemFailure:
                pass  # the monitor is gone: the record has the policy for the next start
