"""Per-container monitors: the role of containerd-shim and conmon.

One small, long-lived process per container holds the container's stdio (pipes)
or pty (from the runtime's --console-socket), writes Docker's json-file log
(rotated at a size, `logfile.py`; none for Docker's `none` driver), reaps
the container's init (it is a child subreaper, so the init becomes its
child once `runtime create` exits), records the exit code and finish time,
applies the restart policy with Docker's backoff, runs the health check
through the runtime's exec (`health.py`), and answers a control socket
(`stop`, `attach`, `status`, `update` (a new restart policy): one JSON
object per line).  The runtime is whichever the spec names (hakobune-runtime,
runc, crun), with its own --root.  hakobune's own runtime is not run as
`hakobune-runtime` processes but called through its library in a fork of
the monitor (`inprocess.py`): the same verbs without an interpreter's start
each; HAKOBUNE_RUNTIME_IN_MONITOR=0 in the caller's environment turns that off.

    start_monitor(MonitorSpec(...)) -> MonitorHandle   # returns once started
    read_state(state_dir) -> dict                      # with monitor_lost

Monitors are forked from a common parent (`zygote.py`): one warm interpreter
per runroot, started on demand, which forks a monitor per container so that
monitors share the interpreter's pages and a start pays for no interpreter.
When no zygote can be used the launcher posix_spawn()s `python -I -S` in a
new session instead.  Either way the monitor forks once more and its parent
exits, so the monitor is nobody's child but init's (or an outer
subreaper's) and no engine daemon is needed.  The monitor reports "started"
or the runtime's error on a pipe, so `run -d` returns quickly.

Files in the state directory (volatile, under the runroot: written with
temp + rename, never fsynced):

    spec.json      what the monitor was asked to do
    state.json     status, pid, monitor pid + start time, RestartCount, history,
                   health (inspect's State.Health: Status, FailingStreak, Log)
    health.pid     the running health probe's pid (to kill it at its timeout)
    exit.json      exit code and finish time of the last run
    control.sock   the control socket (removed when the monitor ends)
    container.pid  the runtime's --pid-file
    monitor.log    the monitor's own stderr

What survives which failure:

- The CLI (launcher) exits or is killed: everything survives.  The monitor is
  in its own session and no child of the CLI; the container is in its own
  session, PID namespace and cgroup.
- The monitor is SIGKILLed: the container keeps running (it is reparented to
  init or the nearest subreaper), but its exit code can never be learned: only
  a parent or subreaper can reap a process, and none of ours is left.  The
  output pipes lose their reader: the container's next write to stdout/stderr
  fails with EPIPE (SIGPIPE unless it handles it); with a tty, the pty master
  closes and the container's session gets SIGHUP.  No more logs are written,
  and no restart happens.  `read_state` reports `monitor_lost` (the state
  says active but no process has the recorded monitor pid *and* start time),
  as conmon's containers are then reported; the engine can then only
  `runtime delete --force` the container.  This is the price of being
  daemonless; conmon has the same limit.
- The CLI dies while start_monitor waits: the monitor carries on and starts
  the container; the caller learns the outcome from state.json.
- The monitor gets SIGTERM or crashes: as SIGKILL (it handles no signal but
  SIGCHLD; SIGHUP and SIGPIPE are ignored).  The monitor lives in the cgroup
  of whoever launched it: a systemd scope that is killed (logout with
  KillUserProcesses) takes the monitors with it; moving monitors to their
  own scope is left to the engine.
- The container's init dies: the monitor reaps it, writes exit.json, deletes
  it through the runtime, and restarts it as the policy says.  A container
  stopped with `stop` is never restarted, even under `always`.
- The runtime fails to create or start: the first time, the error goes back
  to the caller of start_monitor (SystemFailure with the runtime's message);
  on a restart, the failure counts as a run that exited with 128, the error
  is kept in state.json and exit.json, and the policy decides as usual.
- The zygote dies or is killed: nothing else does (monitors and containers
  are not its children); the next start makes a new zygote.
- Reboot: /run is gone, and so is every container; `unless-stopped` and
  `always` containers are started again by `hakobune system restore`.
"""

__all__ = ["MonitorSpec", "RestartPolicy", "MonitorHandle", "start_monitor", "read_state"]


def __getattr__(name):
    # Lazy: the monitor process imports this package too, and must not load
    # the launcher (socket, errors) it never uses.
    if name in ("MonitorSpec", "RestartPolicy"):
        from hakobune.monitor import spec

        return getattr(spec, name)
    if name in ("MonitorHandle", "start_monitor", "read_state", "Attachment"):
        from hakobune.monitor import launcher

        return getattr(launcher, name)
    raise AttributeError(name)
