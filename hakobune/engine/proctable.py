"""`top`: a container's processes, as `docker top` shows them.

The processes are those of the container's cgroup (cgroup.procs of its
pids hierarchy, else any of its hierarchies; on cgroup v2 its one
directory), found from /proc/<init>/cgroup and the host's mounts, so that
exec'd processes count too; without a readable cgroup, those of its PID
namespace.  Pids are the host's, as Docker shows them.

Without ps options the table is `ps -ef`'s (UID PID PPID C STIME TTY TIME
CMD), computed here from /proc (no procps needed).  With options, Docker
runs the host's `ps` with them and keeps the rows whose PID column is one
of the container's; so does `ps_table`.
"""

import os
import time

from hakobune.errors import InvalidArgument, SystemFailure

PS_EF_TITLES = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
_PIDS_SOURCES = ("pids", "memory", "cpuacct", "cpu", "freezer", "devices", "blkio", "cpuset")


# --- the container's processes --------------------------------------------------

def cgroup_dirs(pid: int, proc: str = "/proc") -> dict[str, str]:
    """{controller: directory} of the cgroups `pid` is in ("unified" for v2)."""
    from hakobune.runtime.cgroups.layout import UNIFIED, detect_layout, parse_proc_cgroup

    try:
        with open(f"{proc}/{pid}/cgroup") as f:
            membership = parse_proc_cgroup(f.read())
        with open(f"{proc}/self/mountinfo") as f:
            layout = detect_layout(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return {}
    dirs = {}
    for controller, path in membership.items():
        if controller == UNIFIED:
            point, root = layout["unified"], layout["unified_root"]
        else:
            point, root = layout["v1"].get(controller), layout["v1_roots"].get(controller)
        if not point:
            continue
        if root and root != "/" and (path == root or path.startswith(root + "/")):
            path = path[len(root):]
        directory = os.path.join(point, path.lstrip("/"))
        if os.path.isdir(directory):
            dirs[controller] = directory
    return dirs


def container_pids(pid: int) -> list[int]:
    """The host pids of the processes in the container whose init is `pid`."""
    dirs = cgroup_dirs(pid)
    for controller in (*_PIDS_SOURCES, "unified"):
        directory = dirs.get(controller)
        # the root cgroup is everybody's: never take it for the container's
        if directory and _not_a_root(directory):
            pids = _procs(directory)
            if pid in pids:
                return sorted(pids)
    return namespace_pids(pid)


def _not_a_root(directory: str) -> bool:
    return not os.path.exists(os.path.join(directory, "cgroup.sane_behavior")) and \
        os.path.realpath(directory).rstrip("/") not in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")


def _procs(directory: str) -> list[int]:
    try:
        with open(os.path.join(directory, "cgroup.procs")) as f:
            return [int(line) for line in f if line.strip()]
    except OSError:
        return []


def namespace_pids(pid: int) -> list[int]:
    """The processes that share `pid`'s PID namespace."""
    try:
        wanted = os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return []
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}/ns/pid").st_ino == wanted:
                found.append(int(name))
        except OSError:
            continue
    return sorted(found)


# --- ps -ef from /proc --------------------------------------------------------------

class _Clock:
    """What the columns are computed against: clock ticks, boot time, now."""

    def __init__(self):
        self.hertz = os.sysconf("SC_CLK_TCK")
        self.now = time.time()
        with open("/proc/uptime") as f:
            self.uptime = float(f.read().split()[0])
        self.boot = self.now - self.uptime


def _stat_fields(pid: int) -> tuple[str, list[str]] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    return comm, text[text.rindex(")") + 2:].split()


def _effective_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[2])
    except OSError:
        return None
    return None


def _user_name(uid: int, cache: dict) -> str:
    if uid not in cache:
        import pwd

        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        cache[uid] = name if len(name) <= 8 else name[:7] + "+"  # procps's width for -f
    return cache[uid]


def _tty_name(tty_nr: int) -> str:
    if tty_nr == 0:
        return "?"
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"pts/{(major - 136) * 256 + minor}"
    if major == 4:
        return f"tty{minor}" if minor < 64 else f"ttyS{minor - 64}"
    if major == 5 and minor == 1:
        return "console"
    return "?"


def _cpu_time(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{text}" if days else text


def _start_time(started: float, now: float) -> str:
    then, today = time.localtime(started), time.localtime(now)
    if then.tm_year != today.tm_year:
        return time.strftime("%Y", then)
    if then.tm_yday != today.tm_yday:
        return time.strftime("%b%d", then)
    return time.strftime("%H:%M", then)


def _command_line(pid: int, comm: str, state: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        raw = b""
    words = [w.decode(errors="replace") for w in raw.rstrip(b"\0").split(b"\0")] if raw else []
    if not words or state == "Z":
        return f"[{comm}]" + (" <defunct>" if state == "Z" else "")
    return " ".join(words)


def ps_ef_row(pid: int, clock: _Clock, users: dict) -> list[str] | None:
    """One row of `ps -ef` for `pid`, None if it is gone."""
    parsed = _stat_fields(pid)
    uid = _effective_uid(pid)
    if parsed is None or uid is None:
        return None
    comm, fields = parsed
    state, ppid, tty_nr = fields[0], fields[1], int(fields[4])
    utime, stime, start_ticks = int(fields[11]), int(fields[12]), int(fields[19])
    total_ticks = utime + stime
    elapsed = int(clock.uptime - start_ticks / clock.hertz)
    percent = min(99, (total_ticks * 100 // clock.hertz) // elapsed) if elapsed > 0 else 0
    return [_user_name(uid, users), str(pid), ppid, str(percent),
            _start_time(clock.boot + start_ticks / clock.hertz, clock.now), _tty_name(tty_nr),
            _cpu_time(total_ticks // clock.hertz), _command_line(pid, comm, state)]


def ps_ef(pids) -> dict:
    """Docker's top answer ({"Titles", "Processes"}) in `ps -ef`'s form."""
    clock, users = _Clock(), {}
    rows = [row for row in (ps_ef_row(pid, clock, users) for pid in sorted(pids)) if row is not None]
    return {"Titles": list(PS_EF_TITLES), "Processes": rows}


# --- host ps with options -------------------------------------------------------------

def check_ps_args(ps_args: str) -> None:
    """Docker refuses `KEY=PID...` other than pid= (it would hide the PID column)."""
    words = ps_args.split()
    for index, word in enumerate(words):
        key, eq, value = word.partition("=")
        if not eq:
            continue
        if not value and index + 1 < len(words):
            value = words[index + 1]
        if value.startswith("PID") and key != "pid":
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')


def ps_table(ps_args: str, pids) -> dict:
    """The host's `ps ARGS` narrowed to `pids`, as Docker's daemon does."""
    import subprocess

    check_ps_args(ps_args)
    args = ps_args.split(" ")
    pid_list = ",".join(str(p) for p in pids)
    try:
        result = subprocess.run(["ps", *args, "-q", pid_list], capture_output=True)
        if result.returncode != 0:  # some options (f) do not combine with -q
            result = subprocess.run(["ps", *args], capture_output=True)
    except FileNotFoundError:
        raise SystemFailure('Error running ps: exec: "ps": executable file not found in $PATH') from None
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise SystemFailure(f"Error running ps: exit status {result.returncode}" + (f" ({detail})" if detail else ""))
    return parse_ps_output(result.stdout.decode(errors="replace"), set(pids))


def parse_ps_output(output: str, pids: set[int]) -> dict:
    lines = output.split("\n")
    titles = lines[0].split()
    if "PID" not in titles:
        raise SystemFailure("Couldn't find PID field in ps output")
    pid_index = titles.index("PID")
    processes = []
    previous_kept = False
    for line in lines[1:]:
        fields = line.split()
        if not fields or len(fields) <= pid_index:
            continue
        if fields[pid_index] == "-":  # a thread line (ps m): kept with its process
            if previous_kept:
                processes.append(_fit(fields, len(titles)))
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise SystemFailure(f"Unexpected pid '{fields[pid_index]}'") from None
        previous_kept = pid in pids
        if previous_kept:
            processes.append(_fit(fields, len(titles)))
    return {"Titles": titles, "Processes": processes}


def _fit(fields: list[str], columns: int) -> list[str]:
    """The overhanging fields joined into the last column (the command's words)."""
    return fields[:columns - 1] + [" ".join(fields[columns - 1:])]
