"""The engine's part for exec, top and stats: a container's processes.

    engine.exec_container("web", ["ls", "-l"])            # POST /containers/{id}/exec + start
    engine.top("web")                                       # GET /containers/{id}/top
    engine.top("web", "-o pid,comm")                        # ... ?ps_args=-o pid,comm
    engine.container_stats("web")                           # GET /containers/{id}/stats?stream=0&one-shot=1
    for document in engine.stats_stream("web"): ...         # GET /containers/{id}/stats (one a second)

exec lives in hakobune.engine.execution (in-process through the runtime's
library for hakobune's own runtime), top in hakobune.engine.proctable,
stats in hakobune.engine.stats.  Imports stay inside the methods: the
engine facade is loaded by every command.
"""


class ProcessOperations:
    """Mixed into hakobune.engine.Engine: uses self.lifecycle, self.image_store, self.root, self.runroot."""

    # --- exec -------------------------------------------------------------------------

    def exec_container(self, name: str, command, *, env=(), workdir: str | None = None, user: str | None = None,
                       privileged: bool = False, tty: bool = False, interactive: bool = False,
                       detach: bool = False, console_size: tuple[int, int] | None = None,
                       stdio: tuple[int, int, int] | None = None):
        """Run `command` in the running container `name`; returns an
        execution.ExecProcess: `.wait()` gives the exit status, `.master_fd`
        is the pty's master under `tty`.  Without `tty` the program gets
        `stdio` (default: our own stdout and stderr, our stdin only if
        `interactive`, else /dev/null; everything /dev/null when detached).
        Raises Conflict when the container is not running and
        execution.ExecFailed (Docker's message, 126 or 127) when the
        program cannot be started."""
        import os

        from hakobune.engine import execution

        options = execution.ExecOptions(command, env=env, workdir=workdir, user=user, privileged=privileged,
                                        tty=tty, interactive=interactive, detach=detach,
                                        console_size=console_size)
        target = execution.running_target(self.root, self.runroot, name)
        process = execution.build_process(target, options)
        null = -1
        try:
            if stdio is None:
                if detach or not interactive:
                    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                stdio = (null, null, null) if detach else (0 if interactive else null, 1, 2)
            return execution.start(target, process, options, stdio)
        finally:
            if null >= 0:
                os.close(null)

    # --- top ----------------------------------------------------------------------------

    def _running_pid(self, name: str) -> tuple[dict, int]:
        """(record, init pid) of a running container; Docker's 409 otherwise."""
        from hakobune.engine import execution

        record = self.lifecycle.store.lookup(name)
        state = self.lifecycle.state(record)
        if state.get("Restarting"):
            from hakobune.errors import Conflict

            raise Conflict(f"Container {record['Id']} is restarting, wait until the container is running")
        if not state["Running"] or not state["Pid"]:
            raise execution.not_running(record["Id"])
        return record, state["Pid"]

    def container_pids(self, name: str) -> list[int]:
        """The host pids of the running container's processes."""
        from hakobune.engine import proctable

        _, pid = self._running_pid(name)
        return proctable.container_pids(pid)

    def top(self, name: str, ps_args: str | None = None) -> dict:
        """GET /containers/{id}/top: {"Titles": [...], "Processes": [[...], ...]}."""
        from hakobune.engine import proctable

        _, pid = self._running_pid(name)
        pids = proctable.container_pids(pid)
        if not ps_args or ps_args == "-ef":
            return proctable.ps_ef(pids)
        return proctable.ps_table(ps_args, pids)

    # --- stats ------------------------------------------------------------------------------

    def container_stats(self, name: str, previous: dict | None = None) -> dict:
        """One reading in Docker's stats JSON; precpu_stats from `previous`
        (an earlier reading of the same container) when given.  A container
        that is not running reads as Docker's zeros."""
        from hakobune.engine import proctable, stats

        record = self.lifecycle.store.lookup(name)
        state = self.lifecycle.state(record)
        if not state["Running"] or not state["Pid"]:
            return stats.empty_reading(record)
        dirs = proctable.cgroup_dirs(state["Pid"])
        if not dirs:
            return stats.empty_reading(record)
        from hakobune.errors import SystemFailure

        try:
            return stats.reading(record, state["Pid"], dirs, previous)
        except SystemFailure:  # its cgroup went away while being read: it has just stopped
            return stats.empty_reading(record)

    def stats_stream(self, name: str, interval: float = 1.0):
        """Readings one `interval` apart, each against the one before, while
        the container runs (Docker's stream=1); ends after a zero reading
        once it has stopped."""
        import time

        previous = None
        while True:
            document = self.container_stats(name, previous)
            yield document
            if document["read"].startswith("0001-"):
                return
            previous = document
            time.sleep(interval)
