"""`exec`: run another process inside a container.

Stage one joins the container's cgroup and namespaces (made non-dumpable
first), takes on the identity and restrictions of the process spec, and
posix_spawn()s the program: the only process that appears in the container's
PID namespace is the program itself, so no Python code of the runtime ever
runs where the container's processes could reach it through /proc (the class
of CVE-2019-5736).  The runtime waits for it (it is a child subreaper)
unless detached.
"""

import os

from hakobune import _fastjson, _sys as S
from hakobune.errors import Conflict, InvalidArgument
from hakobune.oci.runtime_config import check_process
from hakobune.runtime import container as C, init as I, process as P, state as St
from hakobune.runtime.channel import Channel


class ExecPlan:
    def __init__(self, process, namespaces, channel, console_fd, seccomp_filter, preserve_fds, chroot=None):
        self.process = process
        self.namespaces = namespaces
        self.chroot = chroot  # a container without a mount namespace is chrooted, not pivoted
        self.channel = channel
        self.console_fd = console_fd
        self.seccomp_filter = seccomp_filter
        self.preserve_fds = preserve_fds


def exec_from_cli(root: str, container_id: str, args: list[str], options: dict) -> int:
    state = St.load(root, container_id)
    config = state.config()
    process = _process_from_options(config, args, options)
    return exec_process(state, config, process, options)


def _process_from_options(config: dict, args: list[str], options: dict) -> dict:
    if options.get("process"):
        with open(options["process"]) as f:
            try:
                process = _fastjson.loads(f.read())
            except ValueError as e:
                raise InvalidArgument(f"--process {options['process']}: malformed JSON: {e}") from None
        check_process(process, "process")
        return process
    if not args:
        raise InvalidArgument("exec: a command or --process is required")
    process = _fastjson.loads(_fastjson.dumps(config["process"]))
    process["args"] = args
    process["terminal"] = options.get("tty", False)
    if options.get("cwd"):
        process["cwd"] = options["cwd"]
    if options.get("env"):
        process["env"] = process.get("env", []) + options["env"]
    if options.get("user"):
        uid, _, gid = options["user"].partition(":")
        process["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    if options.get("gids"):
        process.setdefault("user", {})["additionalGids"] = [int(g) for g in options["gids"]]
    if options.get("cap"):
        for kind in ("bounding", "effective", "permitted"):
            caps = process.setdefault("capabilities", {}).setdefault(kind, [])
            caps.extend(c for c in options["cap"] if c not in caps)
    if options.get("no_new_privs"):
        process["noNewPrivileges"] = True
    check_process(process, "process")
    return process


def exec_process(state: St.ContainerState, config: dict, process: dict, options: dict) -> int:
    status = C.container_status(state)
    if status not in ("running", "created"):
        raise Conflict(f"cannot exec in container {state.id}: it is {status}")
    if status == "created" and _may_trace(process):
        raise Conflict(f"cannot exec with CAP_SYS_PTRACE in container {state.id} before it is started: "
                       "its PID 1 is still the runtime")
    detach = options.get("detach", False)
    if not detach:
        S.prctl(S.PR_SET_CHILD_SUBREAPER, 1)
    pid = _spawn(state, config, process, options)
    if options.get("pid_file"):
        St.write_atomically(os.path.abspath(options["pid_file"]), str(pid))
    if detach:
        return 0
    return C._wait_forwarding_signals(pid)


def _spawn(state, config, process, options) -> int:
    console_fd = -1
    if process.get("terminal"):
        if not options.get("console_socket"):
            raise InvalidArgument("exec: --tty needs --console-socket")
        from hakobune.runtime import console  # before the fork: the child cannot import it

        console_fd = console.connect(options["console_socket"])
    parent, child = Channel.pair()
    plan = ExecPlan(process, _namespaces_of(state.pid, config), child, console_fd,
                    P.compile_seccomp(config.get("linux", {}), C.seccomp_cache_dir(state.directory.rsplit("/", 1)[0])),
                    int(options.get("preserve_fds", 0)), _chroot_of(state.pid, config))
    stage_one = os.fork()
    if stage_one == 0:
        parent.close()
        I.child_main(_stage_one, plan)
    child.close()
    if console_fd >= 0:
        os.close(console_fd)
    try:
        C.cgroup_of(state).add(stage_one)
        parent.send("go")
        return int(parent.expect("pid"))
    finally:
        try:
            os.waitpid(stage_one, 0)
        except ChildProcessError:
            pass
        parent.close()


def _may_trace(process: dict) -> bool:
    """Could the process open the runtime's /proc/PID/exe (a non-dumpable one)?"""
    return any("CAP_SYS_PTRACE" in names for names in process.get("capabilities", {}).values())


def _chroot_of(pid: int, config: dict) -> str | None:
    namespaces = config.get("linux", {}).get("namespaces", [])
    return None if any(ns["type"] == "mount" for ns in namespaces) else f"/proc/{pid}/root"


def _namespaces_of(pid: int, config: dict) -> dict:
    """The init's namespaces that this process is not already in."""
    kinds = {ns["type"] for ns in config.get("linux", {}).get("namespaces", [])}
    names = {"user": "user", "ipc": "ipc", "uts": "uts", "network": "net", "pid": "pid", "cgroup": "cgroup",
             "time": "time", "mount": "mnt"}
    joined = {}
    for kind in kinds:
        path = f"/proc/{pid}/ns/{names[kind]}"
        if os.stat(path).st_ino != os.stat(f"/proc/self/ns/{names[kind]}").st_ino:
            joined[kind] = path
    return joined


def _stage_one(plan: ExecPlan) -> None:
    process = plan.process
    uid = process.get("user", {}).get("uid", 0)
    plan.channel.expect("go")
    S.prctl(S.PR_SET_DUMPABLE, 0)
    I.join_namespaces(plan.namespaces)
    if plan.chroot:
        os.chroot(plan.chroot)
        os.chdir("/")
    tty = _terminal(plan, uid) if process.get("terminal") else None
    env = P.environment(process)
    env.setdefault("HOME", P.home_for(uid))
    program = P.find_program(process["args"][0], env)
    P.set_oom_score_adj(process)
    P.close_fds_except(plan.preserve_fds, (plan.channel.read_fd, plan.channel.write_fd))
    P.enter_cwd(process.get("cwd", "/"))  # before seccomp, which may deny the getcwd(2) of the check
    P.become(process, plan.seccomp_filter)
    pid = S.spawn(program, process["args"], env, terminal=tty)
    plan.channel.send(f"pid {pid}")


def _terminal(plan: ExecPlan, uid: int) -> str:
    """A pty in the container's devpts; the master goes to the console socket."""
    from hakobune.runtime import console

    master, slave, name = console.make_pty(uid)
    _apply_console_size(master, plan.process.get("consoleSize"))
    console.send_master(plan.console_fd, master)
    os.close(master)
    os.close(slave)
    return name


def _apply_console_size(master: int, size: dict | None) -> None:
    """The OCI process's consoleSize, set before the program starts (as runc
    does): a program that asks its size at once gets the caller's.  fcntl and
    termios are loaded already (by the console module, before the fork)."""
    if not size:
        return
    import fcntl
    import sys
    import termios

    winsize = b"".join(int(value).to_bytes(2, sys.byteorder) for value in (size.get("height", 0),
                                                                           size.get("width", 0), 0, 0))
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, winsize)
    except OSError:
        pass
