"""`update`: change running or stopped containers' resources and restart
policy, as `docker update` does (prints each container's name; the
failures are reported together at the end, exit status 1)."""

from hakobune.cli.images import engine_of, write

# flag name -> UpdateConfig field
_FIELDS = (("cpu-shares", "CpuShares"), ("memory", "Memory"), ("cpus", "NanoCpus"),
           ("cpu-period", "CpuPeriod"), ("cpu-quota", "CpuQuota"), ("cpuset-cpus", "CpusetCpus"),
           ("cpuset-mems", "CpusetMems"), ("memory-reservation", "MemoryReservation"),
           ("memory-swap", "MemorySwap"))


def update_body(opts) -> dict:
    """Docker's UpdateConfig as the docker CLI sends it."""
    from hakobune.createbody.runopts import restart_policy_of

    body = {field: getattr(opts, flag.replace("-", "_")) for flag, field in _FIELDS}
    body["PidsLimit"] = opts.pids_limit if opts.changed("pids-limit") else None
    body["RestartPolicy"] = restart_policy_of(opts.restart) if opts.changed("restart") else \
        {"Name": "", "MaximumRetryCount": 0}
    return body


def update(inv):
    from hakobune.cli.main import CLIError
    from hakobune.errors import HakobuneError

    opts = inv.opts
    if not any(opts.changed(flag) for flag, _ in _FIELDS) and not opts.changed("pids-limit") \
            and not opts.changed("restart"):
        raise CLIError("you must provide one or more flags when using this command", 1)
    try:
        body = update_body(opts)
    except HakobuneError as e:
        raise CLIError(str(e), 1) from None
    engine = engine_of(inv)
    errors = []
    for name in inv.args:
        try:
            engine.update_container(name, body)
            write(name + "\n")
        except HakobuneError as e:
            errors.append(f"Error response from daemon: {e}")
    if errors:
        raise CLIError("\n".join(errors), 1)
    return 0
