"""hakobune.cli.args: docker's command line, parsed as the docker CLI does.

Every expected string marked "docker 28.2.2" below was printed by the real
docker CLI (28.2.2, no daemon: parse errors come before any connection) and
is kept here verbatim; the tests themselves need no docker.  To compare
byte for byte, the tests build a root named "docker" with docker's commands.
"""

import io
import os

import pytest

from hakobune.cli.args import (
    ArgumentError, Command, Flag, FlagError, FlagSet, UnknownCommand, UnknownHelpTopic,
    UsageError, Values, cobra_exact_args, cobra_max_args, cobra_min_args, cobra_no_args,
    cobra_range_args, exact_args, execute, exit_status, make_root, max_args, min_args, no_args,
    parse, range_args, render_help,
)
from hakobune.createbody import gosyntax as G
from hakobune.createbody import kinds as K
from hakobune.cli.args.flags import FlagParseError, wrap
from hakobune.cli.args.helptext import help_columns
from hakobune.errors import InvalidArgument

OK = "ok"  # docker parsed the line (it then failed to reach the daemon)

FORMAT_USAGE = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about "
    "formatting output with templates")

CGROUPNS_USAGE = (
    "Cgroup namespace to use (host|private)\n"
    "'host':    Run the container in the Docker host's cgroup namespace\n"
    "'private': Run the container in its own private cgroup namespace\n"
    "'':        Use the cgroup namespace as configured by the\n"
    "           default-cgroupns-mode option on the daemon (default)")

MOUNT = K.Kind("mount", str, merge=K.LIST.merge, show=lambda v: "", default=[])
NETWORK = K.Kind("network", str, merge=K.LIST.merge, show=lambda v: "", default=[])
GPUS = K.Kind("gpu-request", str)

# docker run's flags: (constructor, name, shorthand, usage, options).
RUN_FLAGS = [
    (Flag.list, "add-host", "", "Add a custom host-to-IP mapping (host:ip)",
     dict(convert=K.validate_extra_host)),
    (Flag.map, "annotation", "",
     "Add an annotation to the container (passed through to the OCI runtime)", {}),
    (Flag.list, "attach", "a", "Attach to STDIN, STDOUT or STDERR", {}),
    (Flag.uint16, "blkio-weight", "",
     "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", {}),
    (Flag.list, "blkio-weight-device", "", "Block IO weight (relative device weight)",
     dict(default_text="[]")),
    (Flag.list, "cap-add", "", "Add Linux capabilities", {}),
    (Flag.list, "cap-drop", "", "Drop Linux capabilities", {}),
    (Flag.string, "cgroup-parent", "", "Optional parent cgroup for the container", {}),
    (Flag.string, "cgroupns", "", CGROUPNS_USAGE, {}),
    (Flag.string, "cidfile", "", "Write the container ID to the file", {}),
    (Flag.int, "cpu-count", "", "CPU count (Windows only)", {}),
    (Flag.int, "cpu-percent", "", "CPU percent (Windows only)", {}),
    (Flag.int, "cpu-period", "", "Limit CPU CFS (Completely Fair Scheduler) period", {}),
    (Flag.int, "cpu-quota", "", "Limit CPU CFS (Completely Fair Scheduler) quota", {}),
    (Flag.int, "cpu-rt-period", "", "Limit CPU real-time period in microseconds", {}),
    (Flag.int, "cpu-rt-runtime", "", "Limit CPU real-time runtime in microseconds", {}),
    (Flag.int, "cpu-shares", "c", "CPU shares (relative weight)", {}),
    (Flag.cpus, "cpus", "", "Number of CPUs", {}),
    (Flag.string, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)", {}),
    (Flag.string, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)", {}),
    (Flag.bool, "detach", "d", "Run container in background and print container ID", {}),
    (Flag.string, "detach-keys", "", "Override the key sequence for detaching a container", {}),
    (Flag.list, "device", "", "Add a host device to the container", {}),
    (Flag.list, "device-cgroup-rule", "", "Add a rule to the cgroup allowed devices list", {}),
    (Flag.list, "device-read-bps", "", "Limit read rate (bytes per second) from a device",
     dict(default_text="[]")),
    (Flag.list, "device-read-iops", "", "Limit read rate (IO per second) from a device",
     dict(default_text="[]")),
    (Flag.list, "device-write-bps", "", "Limit write rate (bytes per second) to a device",
     dict(default_text="[]")),
    (Flag.list, "device-write-iops", "", "Limit write rate (IO per second) to a device",
     dict(default_text="[]")),
    (Flag.bool, "disable-content-trust", "", "Skip image verification", dict(default=True)),
    (Flag.list, "dns", "", "Set custom DNS servers", dict(convert=K.validate_ip)),
    (Flag.list, "dns-option", "", "Set DNS options", {}),
    (Flag.list, "dns-search", "", "Set custom DNS search domains",
     dict(convert=K.validate_dns_search)),
    (Flag.string, "domainname", "", "Container NIS domain name", {}),
    (Flag.string, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image", {}),
    (Flag.list, "env", "e", "Set environment variables", dict(convert=K.validate_env)),
    (Flag.list, "env-file", "", "Read in a file of environment variables", {}),
    (Flag.list, "expose", "", "Expose a port or a range of ports", {}),
    (lambda n, s, u, **kw: Flag(n, GPUS, s, u, **kw), "gpus", "",
     "GPU devices to add to the container ('all' to pass all GPUs)", {}),
    (Flag.list, "group-add", "", "Add additional groups to join", {}),
    (Flag.string, "health-cmd", "", "Command to run to check health", {}),
    (Flag.duration, "health-interval", "",
     "Time between running the check (ms|s|m|h) (default 0s)", {}),
    (Flag.int, "health-retries", "", "Consecutive failures needed to report unhealthy", {}),
    (Flag.duration, "health-start-interval", "",
     "Time between running the check during the start period (ms|s|m|h) (default 0s)", {}),
    (Flag.duration, "health-start-period", "",
     "Start period for the container to initialize before starting health-retries "
     "countdown (ms|s|m|h) (default 0s)", {}),
    (Flag.duration, "health-timeout", "",
     "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", {}),
    (lambda n, s, u, **kw: Flag.help(), "help", "", "Print usage", {}),
    (Flag.string, "hostname", "h", "Container host name", {}),
    (Flag.bool, "init", "",
     "Run an init inside the container that forwards signals and reaps processes", {}),
    (Flag.bool, "interactive", "i", "Keep STDIN open even if not attached", {}),
    (Flag.bytes, "io-maxbandwidth", "",
     "Maximum IO bandwidth limit for the system drive (Windows only)", {}),
    (Flag.uint, "io-maxiops", "", "Maximum IOps limit for the system drive (Windows only)", {}),
    (Flag.string, "ip", "", "IPv4 address (e.g., 172.30.100.104)", {}),
    (Flag.string, "ip6", "", "IPv6 address (e.g., 2001:db8::33)", {}),
    (Flag.string, "ipc", "", "IPC mode to use", {}),
    (Flag.string, "isolation", "", "Container isolation technology", {}),
    (Flag.bytes, "kernel-memory", "", "Kernel memory limit", {}),
    (Flag.list, "label", "l", "Set meta data on a container", dict(convert=K.validate_label)),
    (Flag.list, "label-file", "", "Read in a line delimited file of labels", {}),
    (Flag.list, "link", "", "Add link to another container", dict(convert=K.validate_link)),
    (Flag.list, "link-local-ip", "", "Container IPv4/IPv6 link-local addresses", {}),
    (Flag.string, "log-driver", "", "Logging driver for the container", {}),
    (Flag.list, "log-opt", "", "Log driver options", {}),
    (Flag.string, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)", {}),
    (Flag.bytes, "memory", "m", "Memory limit", {}),
    (Flag.bytes, "memory-reservation", "", "Memory soft limit", {}),
    (Flag.swap_bytes, "memory-swap", "",
     "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", {}),
    (Flag.int, "memory-swappiness", "", "Tune container memory swappiness (0 to 100)",
     dict(default=-1)),
    (lambda n, s, u, **kw: Flag(n, MOUNT, s, u, **kw), "mount", "",
     "Attach a filesystem mount to the container", {}),
    (Flag.string, "name", "", "Assign a name to the container", {}),
    (lambda n, s, u, **kw: Flag(n, NETWORK, s, u, **kw), "network", "",
     "Connect a container to a network", {}),
    (Flag.list, "network-alias", "", "Add network-scoped alias for the container", {}),
    (Flag.bool, "no-healthcheck", "", "Disable any container-specified HEALTHCHECK", {}),
    (Flag.bool, "oom-kill-disable", "", "Disable OOM Killer", {}),
    (Flag.int, "oom-score-adj", "", "Tune host's OOM preferences (-1000 to 1000)", {}),
    (Flag.string, "pid", "", "PID namespace to use", {}),
    (Flag.int, "pids-limit", "", "Tune container pids limit (set -1 for unlimited)", {}),
    (Flag.string, "platform", "", "Set platform if server is multi-platform capable", {}),
    (Flag.bool, "privileged", "", "Give extended privileges to this container", {}),
    (Flag.list, "publish", "p", "Publish a container's port(s) to the host", {}),
    (Flag.bool, "publish-all", "P", "Publish all exposed ports to random ports", {}),
    (Flag.string, "pull", "", 'Pull image before running ("always", "missing", "never")',
     dict(default="missing")),
    (Flag.bool, "quiet", "q", "Suppress the pull output", {}),
    (Flag.bool, "read-only", "", "Mount the container's root filesystem as read only", {}),
    (Flag.string, "restart", "", "Restart policy to apply when a container exits",
     dict(default="no")),
    (Flag.bool, "rm", "",
     "Automatically remove the container and its associated anonymous volumes when it "
     "exits", {}),
    (Flag.string, "runtime", "", "Runtime to use for this container", {}),
    (Flag.list, "security-opt", "", "Security Options", {}),
    (Flag.bytes, "shm-size", "", "Size of /dev/shm", {}),
    (Flag.bool, "sig-proxy", "", "Proxy received signals to the process", dict(default=True)),
    (Flag.string, "stop-signal", "", "Signal to stop the container", {}),
    (Flag.int, "stop-timeout", "", "Timeout (in seconds) to stop a container", {}),
    (Flag.list, "storage-opt", "", "Storage driver options for the container", {}),
    (Flag.map, "sysctl", "", "Sysctl options", dict(convert=K.validate_sysctl)),
    (Flag.list, "tmpfs", "", "Mount a tmpfs directory", {}),
    (Flag.bool, "tty", "t", "Allocate a pseudo-TTY", {}),
    (Flag.ulimit, "ulimit", "", "Ulimit options", {}),
    (Flag.bool, "use-api-socket", "", "Bind mount Docker API socket and required auth", {}),
    (Flag.string, "user", "u", "Username or UID (format: <name|uid>[:<group|gid>])", {}),
    (Flag.string, "userns", "", "User namespace to use", {}),
    (Flag.string, "uts", "", "UTS namespace to use", {}),
    (Flag.list, "volume", "v", "Bind mount a volume", {}),
    (Flag.string, "volume-driver", "", "Optional volume driver for the container", {}),
    (Flag.list, "volumes-from", "", "Mount volumes from the specified container(s)", {}),
    (Flag.string, "workdir", "w", "Working directory inside the container", {}),
]

ROOT_COMMANDS = [  # docker 28.2.2's `docker --help` listing
    ("run", "top", "Create and run a new container from an image"),
    ("exec", "top", "Execute a command in a running container"),
    ("ps", "top", "List containers"),
    ("build", "top", "Build an image from a Dockerfile"),
    ("pull", "top", "Download an image from a registry"),
    ("push", "top", "Upload an image to a registry"),
    ("images", "top", "List images"),
    ("login", "top", "Authenticate to a registry"),
    ("logout", "top", "Log out from a registry"),
    ("search", "top", "Search Docker Hub for images"),
    ("version", "top", "Show the Docker version information"),
    ("info", "top", "Display system-wide information"),
    ("builder", "mgmt", "Manage builds"),
    ("checkpoint", "mgmt", "Manage checkpoints"),
    ("container", "mgmt", "Manage containers"),
    ("context", "mgmt", "Manage contexts"),
    ("image", "mgmt", "Manage images"),
    ("manifest", "mgmt", "Manage Docker image manifests and manifest lists"),
    ("network", "mgmt", "Manage networks"),
    ("plugin", "mgmt", "Manage plugins"),
    ("system", "mgmt", "Manage Docker"),
    ("trust", "mgmt", "Manage trust on Docker images"),
    ("volume", "mgmt", "Manage volumes"),
    ("config", "swarm", "Manage Swarm configs"),
    ("node", "swarm", "Manage Swarm nodes"),
    ("secret", "swarm", "Manage Swarm secrets"),
    ("service", "swarm", "Manage Swarm services"),
    ("stack", "swarm", "Manage Swarm stacks"),
    ("swarm", "swarm", "Manage Swarm"),
    ("attach", "ops", "Attach local standard input, output, and error streams to a running container"),
    ("commit", "ops", "Create a new image from a container's changes"),
    ("cp", "ops", "Copy files/folders between a container and the local filesystem"),
    ("create", "ops", "Create a new container"),
    ("diff", "ops", "Inspect changes to files or directories on a container's filesystem"),
    ("events", "ops", "Get real time events from the server"),
    ("export", "ops", "Export a container's filesystem as a tar archive"),
    ("history", "ops", "Show the history of an image"),
    ("import", "ops", "Import the contents from a tarball to create a filesystem image"),
    ("inspect", "ops", "Return low-level information on Docker objects"),
    ("kill", "ops", "Kill one or more running containers"),
    ("load", "ops", "Load an image from a tar archive or STDIN"),
    ("logs", "ops", "Fetch the logs of a container"),
    ("pause", "ops", "Pause all processes within one or more containers"),
    ("port", "ops", "List port mappings or a specific mapping for the container"),
    ("rename", "ops", "Rename a container"),
    ("restart", "ops", "Restart one or more containers"),
    ("rm", "ops", "Remove one or more containers"),
    ("rmi", "ops", "Remove one or more images"),
    ("save", "ops", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    ("start", "ops", "Start one or more stopped containers"),
    ("stats", "ops", "Display a live stream of container(s) resource usage statistics"),
    ("stop", "ops", "Stop one or more running containers"),
    ("tag", "ops", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    ("top", "ops", "Display the running processes of a container"),
    ("unpause", "ops", "Unpause all processes within one or more containers"),
    ("update", "ops", "Update configuration of one or more containers"),
    ("wait", "ops", "Block until one or more containers stop, then print their exit codes"),
]

CONTAINER_COMMANDS = [  # docker container --help
    ("attach", "Attach local standard input, output, and error streams to a running container"),
    ("commit", "Create a new image from a container's changes"),
    ("cp", "Copy files/folders between a container and the local filesystem"),
    ("create", "Create a new container"),
    ("diff", "Inspect changes to files or directories on a container's filesystem"),
    ("exec", "Execute a command in a running container"),
    ("export", "Export a container's filesystem as a tar archive"),
    ("inspect", "Display detailed information on one or more containers"),
    ("kill", "Kill one or more running containers"),
    ("logs", "Fetch the logs of a container"),
    ("ls", "List containers"),
    ("pause", "Pause all processes within one or more containers"),
    ("port", "List port mappings or a specific mapping for the container"),
    ("prune", "Remove all stopped containers"),
    ("rename", "Rename a container"),
    ("restart", "Restart one or more containers"),
    ("rm", "Remove one or more containers"),
    ("run", "Create and run a new container from an image"),
    ("start", "Start one or more stopped containers"),
    ("stats", "Display a live stream of container(s) resource usage statistics"),
    ("stop", "Stop one or more running containers"),
    ("top", "Display the running processes of a container"),
    ("unpause", "Unpause all processes within one or more containers"),
    ("update", "Update configuration of one or more containers"),
    ("wait", "Block until one or more containers stop, then print their exit codes"),
]

IMAGE_COMMANDS = [  # docker image --help
    ("build", "Build an image from a Dockerfile"),
    ("history", "Show the history of an image"),
    ("import", "Import the contents from a tarball to create a filesystem image"),
    ("inspect", "Display detailed information on one or more images"),
    ("load", "Load an image from a tar archive or STDIN"),
    ("ls", "List images"),
    ("prune", "Remove unused images"),
    ("pull", "Download an image from a registry"),
    ("push", "Upload an image to a registry"),
    ("rm", "Remove one or more images"),
    ("save", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
]

CALLS = []


def _record(inv):
    CALLS.append(inv)
    return 0


def _leaf(use, short, **kw):
    return Command(use, short, run=_record, **kw)


def docker_tree():
    """A root named "docker" with docker 28's commands (flags where tested)."""
    root = make_root(
        "docker", version="Docker version 28.2.2, build e6534b4", extra_flags=(),
        footer="For more help on how to use Docker, head to https://docs.docker.com/go/guides/")
    run_flags = [make(name, short, usage, **kw) for make, name, short, usage, kw in RUN_FLAGS]
    run_flags.append(Flag.alias("net", "network"))
    run_flags.append(Flag.alias("net-alias", "network-alias"))
    special = {
        "run": Command("run [OPTIONS] IMAGE [COMMAND] [ARG...]",
                       "Create and run a new container from an image", flags=run_flags,
                       args=min_args(1), interspersed=False, run=_record),
        "exec": _leaf("exec [OPTIONS] CONTAINER COMMAND [ARG...]",
                      "Execute a command in a running container", args=min_args(2),
                      interspersed=False, flags=[
                          Flag.bool("detach", "d", "Detached mode: run command in the background"),
                          Flag.string("detach-keys", "",
                                      "Override the key sequence for detaching a container"),
                          Flag.list("env", "e", "Set environment variables",
                                    convert=K.validate_env),
                          Flag.list("env-file", "", "Read in a file of environment variables"),
                          Flag.bool("interactive", "i", "Keep STDIN open even if not attached"),
                          Flag.bool("privileged", "", "Give extended privileges to the command"),
                          Flag.bool("tty", "t", "Allocate a pseudo-TTY"),
                          Flag.string("user", "u",
                                      'Username or UID (format: "<name|uid>[:<group|gid>]")'),
                          Flag.string("workdir", "w", "Working directory inside the container"),
                      ]),
        "ls": _leaf("ls [OPTIONS]", "List containers", aliases=("list", "ps"), args=no_args,
                    flags=[
                        Flag.bool("all", "a", "Show all containers (default shows just running)"),
                        Flag.filter("filter", "f", "Filter output based on conditions provided"),
                        Flag.string("format", "", FORMAT_USAGE),
                        Flag.int("last", "n", "Show n last created containers (includes all states)",
                                 default=-1),
                        Flag.bool("latest", "l",
                                  "Show the latest created container (includes all states)"),
                        Flag.bool("no-trunc", "", "Don't truncate output"),
                        Flag.bool("quiet", "q", "Only display container IDs"),
                        Flag.bool("size", "s", "Display total file sizes"),
                    ]),
        "rm": _leaf("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
                    aliases=("remove",), args=min_args(1), flags=[
                        Flag.bool("force", "f",
                                  "Force the removal of a running container (uses SIGKILL)"),
                        Flag.bool("link", "l", "Remove the specified link"),
                        Flag.bool("volumes", "v",
                                  "Remove anonymous volumes associated with the container"),
                    ]),
        "stop": _leaf("stop [OPTIONS] CONTAINER [CONTAINER...]",
                      "Stop one or more running containers", args=min_args(1), flags=[
                          Flag.string("signal", "s", "Signal to send to the container"),
                          Flag.int("timeout", "t", "Seconds to wait before killing the container"),
                          Flag.int("time", "", "Seconds to wait before killing the container",
                                   deprecated="use --timeout instead"),
                      ]),
        "logs": _leaf("logs [OPTIONS] CONTAINER", "Fetch the logs of a container",
                      args=exact_args(1), flags=[
                          Flag.bool("details", "", "Show extra details provided to logs"),
                          Flag.bool("follow", "f", "Follow log output"),
                          Flag.string("since", "", 'Show logs since timestamp (e.g. '
                                      '"2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 '
                                      'minutes)'),
                          Flag.string("tail", "n",
                                      "Number of lines to show from the end of the logs",
                                      default="all"),
                          Flag.bool("timestamps", "t", "Show timestamps"),
                          Flag.string("until", "", 'Show logs before a timestamp (e.g. '
                                      '"2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 '
                                      'minutes)'),
                      ]),
        "rename": _leaf("rename CONTAINER NEW_NAME", "Rename a container", args=exact_args(2)),
        "port": _leaf("port CONTAINER [PRIVATE_PORT[/PROTO]]",
                      "List port mappings or a specific mapping for the container",
                      args=range_args(1, 2)),
    }
    image_ls = _leaf("ls [OPTIONS] [REPOSITORY[:TAG]]", "List images", aliases=("list",),
                     args=max_args(1), flags=[
                         Flag.bool("all", "a", "Show all images (default hides intermediate images)"),
                         Flag.bool("digests", "", "Show digests"),
                         Flag.filter("filter", "f", "Filter output based on conditions provided"),
                         Flag.string("format", "", FORMAT_USAGE),
                         Flag.bool("no-trunc", "", "Don't truncate output"),
                         Flag.bool("quiet", "q", "Only show image IDs"),
                         Flag.bool("tree", "", "List multi-platform images as a tree (EXPERIMENTAL)"),
                     ])
    volume_create = _leaf("create [OPTIONS] [VOLUME]", "Create a volume", args=max_args(1), flags=[
        Flag.string("availability", "", 'Cluster Volume availability ("active", "pause", "drain")',
                    default="active"),
        Flag.string("driver", "d", "Specify volume driver name", default="local"),
        Flag.string("group", "", "Cluster Volume group (cluster volumes)"),
        Flag.list("label", "", "Set metadata for a volume"),
        Flag.bytes("limit-bytes", "", "Minimum size of the Cluster Volume in bytes"),
        Flag.map("opt", "o", "Set driver specific options"),
        Flag.bytes("required-bytes", "", "Maximum size of the Cluster Volume in bytes"),
        Flag.string("scope", "", 'Cluster Volume access scope ("single", "multi")',
                    default="single"),
        Flag.map("secret", "", "Cluster Volume secrets"),
        Flag.string("sharing", "",
                    'Cluster Volume access sharing ("none", "readonly", "onewriter", "all")',
                    default="none"),
        Flag.list("topology-preferred", "",
                  "A topology that the Cluster Volume would be preferred in"),
        Flag.list("topology-required", "",
                  "A topology that the Cluster Volume must be accessible from"),
        Flag.string("type", "", 'Cluster Volume access type ("mount", "block")', default="block"),
    ])

    container = Command("container", "Manage containers")
    for name, short in CONTAINER_COMMANDS:
        container.add(special.get(name) or _leaf(name, short))
    image = Command("image", "Manage images")
    for name, short in IMAGE_COMMANDS:
        image.add(image_ls if name == "ls" else _leaf(name, short))
    volume = Command("volume COMMAND", "Manage volumes")
    volume.add(volume_create)
    for name, short in (("inspect", "Display detailed information on one or more volumes"),
                        ("ls", "List volumes"), ("prune", "Remove unused local volumes"),
                        ("rm", "Remove one or more volumes"),
                        ("update", "Update a volume (cluster volumes only)")):
        volume.add(_leaf(name, short))
    managed = {"container": container, "image": image, "volume": volume}
    by_container = {m.name: m.command for m in container.children}
    by_image = {m.name: m.command for m in image.children}
    top = 0
    for name, section, short in ROOT_COMMANDS:
        if section in ("mgmt", "swarm"):
            cmd = managed.get(name)
            if cmd is None:
                cmd = Command(name, short, group="swarm" if section == "swarm" else None)
                cmd.add(_leaf("ls", "List"))
            root.add(cmd)
            continue
        if section == "top":
            top += 1
        if name == "ps":
            root.add(by_container["ls"], name="ps", top=top)
        elif name == "images":
            root.add(image_ls, name="images", top=top)
        elif name == "rmi":
            root.add(by_image["rm"], name="rmi")
        elif name in by_container and by_container[name].short == short:
            root.add(by_container[name], top=top if section == "top" else 0)
        else:
            root.add(_leaf(name, short), top=top if section == "top" else 0)
    return root


DOCKER = docker_tree()


def cli(argv, root=DOCKER, cols=79):
    """(exit status, stdout, stderr) of one command line."""
    out, err = io.StringIO(), io.StringIO()
    status = execute(root, argv, out, err, cols=cols)
    return status, out.getvalue(), err.getvalue()


def inv(*argv, root=DOCKER):
    return parse(root, list(argv))


# ------------------------------------------------------------ docker 28.2.2

DOCKER_LINES = [  # docker 28.2.2: argv, exit status, stdout, stderr (or OK)
    (['run', '--bogus', 'x'], 125, '', "unknown flag: --bogus\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '-z', 'x'], 125, '', "unknown shorthand flag: 'z' in -z\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '--name'], 125, '', "flag needs an argument: --name\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '-e'], 125, '', "flag needs an argument: 'e' in -e\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '-itd'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['rm'], 1, '', "docker: 'docker rm' requires at least 1 argument\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'docker rm --help' for more information\n"),
    (['rm', '-f'], 1, '', "docker: 'docker rm' requires at least 1 argument\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'docker rm --help' for more information\n"),
    (['run'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['run', '-m', 'x', 'busybox'], 125, '', 'invalid argument "x" for "-m, --memory" flag: invalid size: \'x\'\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-m', '512x', 'busybox'], 125, '', 'invalid argument "512x" for "-m, --memory" flag: invalid suffix: \'x\'\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--cpus', 'abc', 'busybox'], 125, '', 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--stop-timeout', 'x', 'busybox'], 125, '', 'invalid argument "x" for "--stop-timeout" flag: strconv.ParseInt: parsing "x": invalid syntax\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['ps', '-n', 'x'], 125, '', 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['logs', '--tail'], 125, '', "flag needs an argument: --tail\n\nUsage:  docker logs [OPTIONS] CONTAINER\n\nRun 'docker logs --help' for more information\n"),
    (['stop', '-t', 'x', 'c'], 125, '', 'invalid argument "x" for "-t, --timeout" flag: strconv.ParseInt: parsing "x": invalid syntax\n\nUsage:  docker stop [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'docker stop --help\' for more information\n'),
    (['stop', '--timeout', 'abc', 'c'], 125, '', 'invalid argument "abc" for "-t, --timeout" flag: strconv.ParseInt: parsing "abc": invalid syntax\n\nUsage:  docker stop [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'docker stop --help\' for more information\n'),
    (['run', '-d=maybe', 'busybox'], 125, '', 'invalid argument "maybe" for "-d, --detach" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--rm=xx', 'busybox'], 125, '', 'invalid argument "xx" for "--rm" flag: strconv.ParseBool: parsing "xx": invalid syntax\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['bogus'], 1, '', "docker: unknown command: docker bogus\n\nRun 'docker --help' for more information\n"),
    (['container', 'bogus'], 1, '', "docker: unknown command: docker container bogus\n\nUsage:  docker container\n\nRun 'docker container --help' for more information\n"),
    (['rm', 'c1', '-f'], OK),
    (['run', '--pull', 'busybox'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['rm', '--help=false', 'x'], OK),
    (['--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['-H'], 125, '', "flag needs an argument: 'H' in -H\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['-z'], 125, '', "unknown shorthand flag: 'z' in -z\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['--log-level'], 125, '', "flag needs an argument: --log-level\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['-l', 'bogus', 'ps'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['--log-level=debug', 'ps', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['run', '-h'], 125, '', "flag needs an argument: 'h' in -h\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['images', '-q=maybe'], 125, '', 'invalid argument "maybe" for "-q, --quiet" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n\nUsage:  docker images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun \'docker images --help\' for more information\n'),
    (['ps', '-aq=false'], OK),
    (['ps', '-qa'], OK),
    (['ps', '-an'], 125, '', "flag needs an argument: 'n' in -n\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['ps', '-an5'], OK),
    (['ps', '-n=5', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['ps', '--last='], 125, '', 'invalid argument "" for "-n, --last" flag: strconv.ParseInt: parsing "": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '--format'], 125, '', "flag needs an argument: --format\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['ps', '--', 'x'], 1, '', "docker: 'docker ps' accepts no arguments\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['ps', 'x'], 1, '', "docker: 'docker ps' accepts no arguments\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['rm', '--', '-f'], OK),
    (['rename', 'a'], 1, '', "docker: 'docker rename' requires 2 arguments\n\nUsage:  docker rename CONTAINER NEW_NAME\n\nRun 'docker rename --help' for more information\n"),
    (['rename', 'a', 'b', 'c'], 1, '', "docker: 'docker rename' requires 2 arguments\n\nUsage:  docker rename CONTAINER NEW_NAME\n\nRun 'docker rename --help' for more information\n"),
    (['port'], 1, '', "docker: 'docker port' requires at least 1 and at most 2 arguments\n\nUsage:  docker port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'docker port --help' for more information\n"),
    (['port', 'a', 'b', 'c'], 1, '', "docker: 'docker port' requires at least 1 and at most 2 arguments\n\nUsage:  docker port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'docker port --help' for more information\n"),
    (['logs'], 1, '', "docker: 'docker logs' requires 1 argument\n\nUsage:  docker logs [OPTIONS] CONTAINER\n\nRun 'docker logs --help' for more information\n"),
    (['logs', 'a', 'b'], 1, '', "docker: 'docker logs' requires 1 argument\n\nUsage:  docker logs [OPTIONS] CONTAINER\n\nRun 'docker logs --help' for more information\n"),
    (['images', 'a', 'b'], 1, '', "docker: 'docker images' requires at most 1 argument\n\nUsage:  docker images [OPTIONS] [REPOSITORY[:TAG]]\n\nSRun 'docker images --help' for more information\n"),
    (['exec'], 1, '', "docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n"),
    (['exec', 'c'], 1, '', "docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n"),
    (['volume', 'create', 'a', 'b'], 1, '', "docker: 'docker volume create' requires at most 1 argument\n\nUsage:  docker volume create [OPTIONS] [VOLUME]\n\nSRun 'docker volume create --help' for more information\n"),
    (['volume', 'bogus'], 1, '', "docker: unknown command: docker volume bogus\n\nUsage:  docker volume COMMAND\n\nRun 'docker volume --help' for more information\n"),
    (['run', '-itd=false', 'busybox'], OK),
    (['run', '-eFOO=bar', 'busybox'], OK),
    (['run', '--env=', 'busybox'], 125, '', 'invalid argument "" for "-e, --env" flag: invalid environment variable: \n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--', 'busybox'], OK),
    (['rm', 'c1', '--', '-f'], OK),
    (['run', 'busybox', '--bogus'], OK),
    (['run', '--rm', 'false'], OK),
    (['run', '--d', 'busybox'], 125, '', "unknown flag: --d\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '-i-t', 'busybox'], 125, '', "unknown shorthand flag: '-' in --t\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '---x', 'busybox'], 125, '', "bad flag syntax: ---x\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '--=x', 'busybox'], 125, '', "bad flag syntax: --=x\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '-=x', 'busybox'], 125, '', "unknown shorthand flag: '=' in -=x\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '--'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['ps', '--'], OK),
    (['ps', '--all=1'], OK),
    (['ps', '--all=T'], OK),
    (['ps', '--all=yes'], 125, '', 'invalid argument "yes" for "-a, --all" flag: strconv.ParseBool: parsing "yes": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-a=t'], OK),
    (['run', '-t=', 'busybox'], 125, '', "unknown shorthand flag: '=' in -=\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['rm', '--force=', 'x'], 125, '', 'invalid argument "" for "-f, --force" flag: strconv.ParseBool: parsing "": invalid syntax\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'docker rm --help\' for more information\n'),
    (['ps', '-n', '0x10'], OK),
    (['ps', '-n', '1_000'], OK),
    (['ps', '-n', '+5'], OK),
    (['ps', '-n', '99999999999999999999'], 125, '', 'invalid argument "99999999999999999999" for "-n, --last" flag: strconv.ParseInt: parsing "99999999999999999999": value out of range\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-n', ' 5'], 125, '', 'invalid argument " 5" for "-n, --last" flag: strconv.ParseInt: parsing " 5": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-n', '0o17'], OK),
    (['ps', '-n', '017'], OK),
    (['ps', '-n', '08'], 125, '', 'invalid argument "08" for "-n, --last" flag: strconv.ParseInt: parsing "08": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-n', '1__0'], 125, '', 'invalid argument "1__0" for "-n, --last" flag: strconv.ParseInt: parsing "1__0": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-n', '_1'], 125, '', 'invalid argument "_1" for "-n, --last" flag: strconv.ParseInt: parsing "_1": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-H', 'x'], 125, '', "unknown shorthand flag: 'H' in -H\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['ps', '--debug'], 125, '', "unknown flag: --debug\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['-D', 'ps'], OK),
    (['-H', 'unix:///x', 'ps'], OK),
    (['-Dl', 'debug', 'ps'], OK),
    (['-lD', 'ps'], 1, '', 'Unable to parse logging level: D\n'),
    (['--tls=maybe', 'ps'], 125, '', 'invalid argument "maybe" for "--tls" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun \'docker --help\' for more information\n'),
    (['--', 'ps'], OK),
    (['ps', '--help=maybe'], 125, '', 'invalid argument "maybe" for "--help" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['--version', 'ps'], OK),
    (['ps', '--version'], 125, '', "unknown flag: --version\n\nUsage:  docker ps [OPTIONS]\n\nRun 'docker ps --help' for more information\n"),
    (['-D', 'bogus'], 1, '', "docker: unknown command: docker bogus\n\nRun 'docker --help' for more information\n"),
    ([''], 1, '', "docker: unknown command: docker \n\nRun 'docker --help' for more information\n"),
    (['help', 'bogus'], 1, '', 'unknown help topic: bogus\n'),
    (['image', 'ls', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'docker image ls --help' for more information\n"),
    (['image', '--bogus', 'ls'], 125, '', "unknown flag: --bogus\n\nUsage:  docker image\n\nRun 'docker image --help' for more information\n"),
    (['--tls', 'false', 'ps'], 1, '', "docker: unknown command: docker false\n\nRun 'docker --help' for more information\n"),
    (['-l', 'bogus', 'rm'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['-l', 'bogus', 'rm', '--bogus'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['-l', 'bogus'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['--debug=false', 'ps'], OK),
    (['-D=false', 'ps'], OK),
    (['--config'], 125, '', "flag needs an argument: --config\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['container', '--', 'ls'], 1, '', "docker: unknown command: docker container ls\n\nUsage:  docker container\n\nRun 'docker container --help' for more information\n"),
    (['help', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker help [command]\n\nRun 'docker help --help' for more information\n"),
    (['help', '-D', 'rm'], 125, '', "unknown shorthand flag: 'D' in -D\n\nUsage:  docker help [command]\n\nRun 'docker help --help' for more information\n"),
    (['help', 'rm', 'x'], 1, '', 'unknown help topic: x\n'),
    (['help', 'image', 'bogus'], 1, '', 'unknown help topic: bogus\n'),
    (['container', '--bogus=1', 'ls'], 1, '', 'unknown flag: --bogus\n'),
    (['container', '-x=1', 'ls'], 1, '', "unknown shorthand flag: 'x' in -x=1\n"),
    (['container', '--help=x', 'ls'], 1, '', 'invalid argument "x" for "--help" flag: strconv.ParseBool: parsing "x": invalid syntax\n'),
    (['run', '-é', 'x'], 125, '', "unknown shorthand flag: 'Ã' in -é\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['run', '--é', 'x'], 125, '', "unknown flag: --é\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['--help=false', 'ps'], OK),
    (['--', 'bogus', '--zzz'], 125, '', "unknown flag: --zzz\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['--', '--zzz'], 125, '', "unknown flag: --zzz\n\nUsage:  docker [OPTIONS] COMMAND [ARG...]\n\nRun 'docker --help' for more information\n"),
    (['--help', 'run'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['container', '--help', 'run'], 1, '', "docker: 'docker container run' requires at least 1 argument\n\nUsage:  docker container run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker container run --help' for more information\n"),
    (['-h', 'run'], 1, '', "Flag shorthand -h has been deprecated, use --help\ndocker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['ps', '--filter', ''], OK),
    (['ps', '--filter', 'bogus'], 125, '', 'invalid argument "bogus" for "-f, --filter" flag: bad format of filter (expected name=value)\n\nUsage:  docker ps [OPTIONS]\n\nRun \'docker ps --help\' for more information\n'),
    (['ps', '-f', 'a=b=c'], OK),
    (['run', '--label', '', 'busybox'], 125, '', 'invalid argument "" for "-l, --label" flag: invalid label \'\': empty name\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-l', '=x', 'busybox'], 125, '', 'invalid argument "=x" for "-l, --label" flag: invalid label \'=x\': empty name\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-l', ' =x', 'busybox'], 125, '', 'invalid argument " =x" for "-l, --label" flag: invalid label \' =x\': empty name\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--sysctl', 'x', 'busybox'], 125, '', 'invalid argument "x" for "--sysctl" flag: sysctl \'x\' is not allowed\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--sysctl', 'kernel.x=1', 'busybox'], 125, '', 'invalid argument "kernel.x=1" for "--sysctl" flag: sysctl \'kernel.x=1\' is not allowed\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--sysctl', 'net.x=1', 'busybox'], OK),
    (['stop', '--time', '3', 'x'], OK),
    (['stop', '--time', 'x', 'x'], 125, '', 'invalid argument "x" for "--time" flag: strconv.ParseInt: parsing "x": invalid syntax\n\nUsage:  docker stop [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'docker stop --help\' for more information\n'),
    (['run', '--net', 'host', 'busybox'], OK),
    (['run', '--ulimit', 'x', 'busybox'], 125, '', 'invalid argument "x" for "--ulimit" flag: invalid ulimit argument: x\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--ulimit', 'nofile=1:2:3', 'busybox'], 125, '', 'invalid argument "nofile=1:2:3" for "--ulimit" flag: too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--cpus', '1.5.5', 'busybox'], 125, '', 'invalid argument "1.5.5" for "--cpus" flag: failed to parse 1.5.5 as a rational number\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--health-interval', '5', 'busybox'], 125, '', 'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--health-interval', '5x', 'busybox'], 125, '', 'invalid argument "5x" for "--health-interval" flag: time: unknown unit "x" in duration "5x"\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--health-interval', 'é', 'busybox'], 125, '', 'invalid argument "é" for "--health-interval" flag: time: invalid duration "\\xc3\\xa9"\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--health-interval', '', 'busybox'], 125, '', 'invalid argument "" for "--health-interval" flag: time: invalid duration ""\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--blkio-weight', '70000', 'busybox'], 125, '', 'invalid argument "70000" for "--blkio-weight" flag: strconv.ParseUint: parsing "70000": value out of range\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '--blkio-weight', '-1', 'busybox'], 125, '', 'invalid argument "-1" for "--blkio-weight" flag: strconv.ParseUint: parsing "-1": invalid syntax\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-m', ' 1k', 'busybox'], 125, '', 'invalid argument " 1k" for "-m, --memory" flag: strconv.ParseFloat: parsing " 1": invalid syntax\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-m', '', 'busybox'], 125, '', 'invalid argument "" for "-m, --memory" flag: invalid size: \'\'\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['run', '-m', '-1', 'busybox'], 125, '', 'invalid argument "-1" for "-m, --memory" flag: invalid size: \'-1\'\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'docker run --help\' for more information\n'),
    (['container', 'list', '-q'], OK),
    (['rm', '--help', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'docker rm --help' for more information\n"),
    (['rm', '--bogus', '--help'], 125, '', "unknown flag: --bogus\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'docker rm --help' for more information\n"),
    (['run', 'busybox', '--help'], OK),
    (['run', '--help=false'], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['volume', '--bogus', 'ls'], 125, '', "unknown flag: --bogus\n\nUsage:  docker volume COMMAND\n\nRun 'docker volume --help' for more information\n"),
    (['container', 'ls', '--format'], 125, '', "flag needs an argument: --format\n\nUsage:  docker container ls [OPTIONS]\n\nRun 'docker container ls --help' for more information\n"),
    (['-l', 'bogus', '--help'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['-l', 'bogus', '-v'], 1, '', 'Unable to parse logging level: bogus\n'),
    (['--log-level', 'DEBUG', 'ps'], OK),
    (['-l', 'Warning', 'ps'], OK),
    (['-l', 'trace', 'ps'], OK),
    (['-l', 'panic', 'ps'], OK),
    (['help', '-l', 'x'], 125, '', "unknown shorthand flag: 'l' in -l\n\nUsage:  docker help [command]\n\nRun 'docker help --help' for more information\n"),
    (['rm', '-fv'], 1, '', "docker: 'docker rm' requires at least 1 argument\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'docker rm --help' for more information\n"),
    (['rm', '-fvx'], 125, '', "unknown shorthand flag: 'x' in -x\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'docker rm --help' for more information\n"),
    (['rm', '-f=1', 'c'], OK),
    (['rm', '--force=TRUE', 'c'], OK),
    (['rm', '--force=true=1', 'c'], 125, '', 'invalid argument "true=1" for "-f, --force" flag: strconv.ParseBool: parsing "true=1": invalid syntax\n\nUsage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRun \'docker rm --help\' for more information\n'),
    (['ps', '--filter=a=b'], OK),
    (['ps', '-fa=b'], OK),
    (['ps', '--last', '5', '--last=6'], OK),
    (['stop', '-t3', 'c'], OK),
    (['stop', '-t=3', 'c'], OK),
    (['stop', '-t', '-3', 'c'], OK),
    (['stop', '--timeout=-3', 'c'], OK),
    (['logs', '-n', '5', 'c'], OK),
    (['logs', '-n5', 'c'], OK),
    (['logs', '-fn5', 'c'], OK),
    (['logs', '-nf', 'c'], OK),
    (['logs', 'c', '-f'], OK),
    (['logs', 'c', '--', '-f'], 1, '', "docker: 'docker logs' requires 1 argument\n\nUsage:  docker logs [OPTIONS] CONTAINER\n\nRun 'docker logs --help' for more information\n"),
    (['exec', 'c'], 1, '', "docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n"),
    (['exec', '-it', 'c', 'sh'], OK),
    (['exec', 'c', 'sh', '-it'], OK),
    (['exec', '-e', 'c', 'sh'], 1, '', "docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n"),
    (['exec', '-e=', 'c', 'sh'], 125, '', 'invalid argument "=" for "-e, --env" flag: invalid environment variable: =\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nRun \'docker exec --help\' for more information\n'),
    (['exec', '--env', 'c', 'sh'], 1, '', "docker: 'docker exec' requires at least 2 arguments\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nSee 'docker exec --help' for more information\n"),
    (['run', '-p='], 1, '', "docker: 'docker run' requires at least 1 argument\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'docker run --help' for more information\n"),
    (['run', '-p'], 125, '', "flag needs an argument: 'p' in -p\n\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'docker run --help' for more information\n"),
    (['images', '--filter'], 125, '', "flag needs an argument: --filter\n\nUsage:  docker images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'docker images --help' for more information\n"),
    (['images', '--digests=false'], OK),
    (['images', 'a'], OK),
    (['images', 'a', 'b'], 1, '', "docker: 'docker images' requires at most 1 argument\n\nUsage:  docker images [OPTIONS] [REPOSITORY[:TAG]]\n\nSRun 'docker images --help' for more information\n"),
    (['image', 'ls', 'a', 'b'], 1, '', "docker: 'docker image ls' requires at most 1 argument\n\nUsage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]\n\nSRun 'docker image ls --help' for more information\n"),
    (['images', '--bogus=1'], 125, '', "unknown flag: --bogus\n\nUsage:  docker images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'docker images --help' for more information\n"),
    (['rename', '--bogus', 'a', 'b'], 125, '', "unknown flag: --bogus\n\nUsage:  docker rename CONTAINER NEW_NAME\n\nRun 'docker rename --help' for more information\n"),
    (['rename', 'a', 'b', '--bogus'], 125, '', "unknown flag: --bogus\n\nUsage:  docker rename CONTAINER NEW_NAME\n\nRun 'docker rename --help' for more information\n"),
    (['port', 'a', '80/tcp'], OK),
    (['port', 'a', '80', 'x'], 1, '', "docker: 'docker port' requires at least 1 and at most 2 arguments\n\nUsage:  docker port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'docker port --help' for more information\n"),
    (['volume', 'create', '-o', 'a=b', '-o', 'c'], OK),
    (['volume', 'create', '--opt'], 125, '', "flag needs an argument: --opt\n\nUsage:  docker volume create [OPTIONS] [VOLUME]\n\nRun 'docker volume create --help' for more information\n"),
    (['volume', 'create', '-d'], 125, '', "flag needs an argument: 'd' in -d\n\nUsage:  docker volume create [OPTIONS] [VOLUME]\n\nRun 'docker volume create --help' for more information\n"),
    (['container', 'ls', '-aq'], OK),
    (['container', 'ls', '-a', '-q', 'x'], 1, '', "docker: 'docker container ls' accepts no arguments\n\nUsage:  docker container ls [OPTIONS]\n\nRun 'docker container ls --help' for more information\n"),
    (['container', 'rm', '-f'], 1, '', "docker: 'docker container rm' requires at least 1 argument\n\nUsage:  docker container rm [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'docker container rm --help' for more information\n"),
    (['help', 'container', 'rm'], 0, 'Usage:  docker container rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more containers\n\nAliases:\n  docker container rm, docker container remove, docker rm\n\nOptions:\n  -f, --force     Force the removal of a running container (uses SIGKILL)\n  -l, --link      Remove the specified link\n  -v, --volumes   Remove anonymous volumes associated with the container\n', ''),
    (['help', 'image', 'ls', 'x'], 1, '', 'unknown help topic: x\n'),
]

RM_HELP = """\
Usage:  docker rm [OPTIONS] CONTAINER [CONTAINER...]

Remove one or more containers

Aliases:
  docker container rm, docker container remove, docker rm

Options:
  -f, --force     Force the removal of a running container (uses SIGKILL)
  -l, --link      Remove the specified link
  -v, --volumes   Remove anonymous volumes associated with the container
"""

PS_HELP = """\
Usage:  docker ps [OPTIONS]

List containers

Aliases:
  docker container ls, docker container list, docker container ps, docker ps

Options:
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
  -n, --last int        Show n last created containers (includes all
                        states) (default -1)
  -l, --latest          Show the latest created container (includes all
                        states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
"""

LOGS_HELP = """\
Usage:  docker logs [OPTIONS] CONTAINER

Fetch the logs of a container

Aliases:
  docker container logs, docker logs

Options:
      --details        Show extra details provided to logs
  -f, --follow         Follow log output
      --since string   Show logs since timestamp (e.g.
                       "2013-01-02T13:23:37Z") or relative (e.g. "42m"
                       for 42 minutes)
  -n, --tail string    Number of lines to show from the end of the logs
                       (default "all")
  -t, --timestamps     Show timestamps
      --until string   Show logs before a timestamp (e.g.
                       "2013-01-02T13:23:37Z") or relative (e.g. "42m"
                       for 42 minutes)
"""

EXEC_HELP = """\
Usage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]

Execute a command in a running container

Aliases:
  docker container exec, docker exec

Options:
  -d, --detach               Detached mode: run command in the background
      --detach-keys string   Override the key sequence for detaching a
                             container
  -e, --env list             Set environment variables
      --env-file list        Read in a file of environment variables
  -i, --interactive          Keep STDIN open even if not attached
      --privileged           Give extended privileges to the command
  -t, --tty                  Allocate a pseudo-TTY
  -u, --user string          Username or UID (format:
                             "<name|uid>[:<group|gid>]")
  -w, --workdir string       Working directory inside the container
"""

STOP_HELP = """\
Usage:  docker stop [OPTIONS] CONTAINER [CONTAINER...]

Stop one or more running containers

Aliases:
  docker container stop, docker stop

Options:
  -s, --signal string   Signal to send to the container
  -t, --timeout int     Seconds to wait before killing the container
"""

IMAGE_LS_HELP = """\
Usage:  docker image ls [OPTIONS] [REPOSITORY[:TAG]]

List images

Aliases:
  docker image ls, docker image list, docker images

Options:
  -a, --all             Show all images (default hides intermediate images)
      --digests         Show digests
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
      --no-trunc        Don't truncate output
  -q, --quiet           Only show image IDs
      --tree            List multi-platform images as a tree (EXPERIMENTAL)
"""

IMAGES_HELP = """\
Usage:  docker images [OPTIONS] [REPOSITORY[:TAG]]

List images

Aliases:
  docker image ls, docker image list, docker images

Options:
  -a, --all             Show all images (default hides intermediate images)
      --digests         Show digests
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
      --no-trunc        Don't truncate output
  -q, --quiet           Only show image IDs
      --tree            List multi-platform images as a tree (EXPERIMENTAL)
"""

VOLUME_CREATE_HELP = """\
Usage:  docker volume create [OPTIONS] [VOLUME]

Create a volume

Options:
      --availability string       Cluster Volume availability ("active",
                                  "pause", "drain") (default "active")
  -d, --driver string             Specify volume driver name (default "local")
      --group string              Cluster Volume group (cluster volumes)
      --label list                Set metadata for a volume
      --limit-bytes bytes         Minimum size of the Cluster Volume in bytes
  -o, --opt map                   Set driver specific options (default map[])
      --required-bytes bytes      Maximum size of the Cluster Volume in bytes
      --scope string              Cluster Volume access scope ("single",
                                  "multi") (default "single")
      --secret map                Cluster Volume secrets (default map[])
      --sharing string            Cluster Volume access sharing ("none",
                                  "readonly", "onewriter", "all")
                                  (default "none")
      --topology-preferred list   A topology that the Cluster Volume
                                  would be preferred in
      --topology-required list    A topology that the Cluster Volume must
                                  be accessible from
      --type string               Cluster Volume access type ("mount",
                                  "block") (default "block")
"""

RENAME_HELP = """\
Usage:  docker rename CONTAINER NEW_NAME

Rename a container

Aliases:
  docker container rename, docker rename
"""

ROOT_HELP = """\
Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  build       Build an image from a Dockerfile
  pull        Download an image from a registry
  push        Upload an image to a registry
  images      List images
  login       Authenticate to a registry
  logout      Log out from a registry
  search      Search Docker Hub for images
  version     Show the Docker version information
  info        Display system-wide information

Management Commands:
  builder     Manage builds
  checkpoint  Manage checkpoints
  container   Manage containers
  context     Manage contexts
  image       Manage images
  manifest    Manage Docker image manifests and manifest lists
  network     Manage networks
  plugin      Manage plugins
  system      Manage Docker
  trust       Manage trust on Docker images
  volume      Manage volumes

Swarm Commands:
  config      Manage Swarm configs
  node        Manage Swarm nodes
  secret      Manage Swarm secrets
  service     Manage Swarm services
  stack       Manage Swarm stacks
  swarm       Manage Swarm

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Docker objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Global Options:
      --config string      Location of client config files (default
                           "/root/.docker")
  -c, --context string     Name of the context to use to connect to the
                           daemon (overrides DOCKER_HOST env var and
                           default context set with "docker context use")
  -D, --debug              Enable debug mode
  -H, --host list          Daemon socket to connect to
  -l, --log-level string   Set the logging level ("debug", "info",
                           "warn", "error", "fatal") (default "info")
      --tls                Use TLS; implied by --tlsverify
      --tlscacert string   Trust certs signed only by this CA (default
                           "/root/.docker/ca.pem")
      --tlscert string     Path to TLS certificate file (default
                           "/root/.docker/cert.pem")
      --tlskey string      Path to TLS key file (default
                           "/root/.docker/key.pem")
      --tlsverify          Use TLS and verify the remote
  -v, --version            Print version information and quit

Run 'docker COMMAND --help' for more information on a command.

For more help on how to use Docker, head to https://docs.docker.com/go/guides/
"""

CONTAINER_HELP = """\
Usage:  docker container COMMAND

Manage containers

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  exec        Execute a command in a running container
  export      Export a container's filesystem as a tar archive
  inspect     Display detailed information on one or more containers
  kill        Kill one or more running containers
  logs        Fetch the logs of a container
  ls          List containers
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  prune       Remove all stopped containers
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  run         Create and run a new container from an image
  start       Start one or more stopped containers
  stats       Display a live stream of container(s) resource usage statistics
  stop        Stop one or more running containers
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  update      Update configuration of one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Run 'docker container COMMAND --help' for more information on a command.
"""

IMAGE_HELP = """\
Usage:  docker image COMMAND

Manage images

Commands:
  build       Build an image from a Dockerfile
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Display detailed information on one or more images
  load        Load an image from a tar archive or STDIN
  ls          List images
  prune       Remove unused images
  pull        Download an image from a registry
  push        Upload an image to a registry
  rm          Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

Run 'docker image COMMAND --help' for more information on a command.
"""

VOLUME_HELP = """\
Usage:  docker volume COMMAND

Manage volumes

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove unused local volumes
  rm          Remove one or more volumes
  update      Update a volume (cluster volumes only)

Run 'docker volume COMMAND --help' for more information on a command.
"""

RUN_HELP = """\
Usage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]

Create and run a new container from an image

Aliases:
  docker container run, docker run

Options:
      --add-host list                    Add a custom host-to-IP mapping
                                         (host:ip)
      --annotation map                   Add an annotation to the
                                         container (passed through to the
                                         OCI runtime) (default map[])
  -a, --attach list                      Attach to STDIN, STDOUT or STDERR
      --blkio-weight uint16              Block IO (relative weight),
                                         between 10 and 1000, or 0 to
                                         disable (default 0)
      --blkio-weight-device list         Block IO weight (relative device
                                         weight) (default [])
      --cap-add list                     Add Linux capabilities
      --cap-drop list                    Drop Linux capabilities
      --cgroup-parent string             Optional parent cgroup for the
                                         container
      --cgroupns string                  Cgroup namespace to use
                                         (host|private)
                                         'host':    Run the container in
                                         the Docker host's cgroup
                                         namespace
                                         'private': Run the container in
                                         its own private cgroup namespace
                                         '':        Use the cgroup
                                         namespace as configured by the
                                                    default-cgroupns-mode
                                         option on the daemon (default)
      --cidfile string                   Write the container ID to the file
      --cpu-count int                    CPU count (Windows only)
      --cpu-percent int                  CPU percent (Windows only)
      --cpu-period int                   Limit CPU CFS (Completely Fair
                                         Scheduler) period
      --cpu-quota int                    Limit CPU CFS (Completely Fair
                                         Scheduler) quota
      --cpu-rt-period int                Limit CPU real-time period in
                                         microseconds
      --cpu-rt-runtime int               Limit CPU real-time runtime in
                                         microseconds
  -c, --cpu-shares int                   CPU shares (relative weight)
      --cpus decimal                     Number of CPUs
      --cpuset-cpus string               CPUs in which to allow execution
                                         (0-3, 0,1)
      --cpuset-mems string               MEMs in which to allow execution
                                         (0-3, 0,1)
  -d, --detach                           Run container in background and
                                         print container ID
      --detach-keys string               Override the key sequence for
                                         detaching a container
      --device list                      Add a host device to the container
      --device-cgroup-rule list          Add a rule to the cgroup allowed
                                         devices list
      --device-read-bps list             Limit read rate (bytes per
                                         second) from a device (default [])
      --device-read-iops list            Limit read rate (IO per second)
                                         from a device (default [])
      --device-write-bps list            Limit write rate (bytes per
                                         second) to a device (default [])
      --device-write-iops list           Limit write rate (IO per second)
                                         to a device (default [])
      --disable-content-trust            Skip image verification (default
                                         true)
      --dns list                         Set custom DNS servers
      --dns-option list                  Set DNS options
      --dns-search list                  Set custom DNS search domains
      --domainname string                Container NIS domain name
      --entrypoint string                Overwrite the default ENTRYPOINT
                                         of the image
  -e, --env list                         Set environment variables
      --env-file list                    Read in a file of environment
                                         variables
      --expose list                      Expose a port or a range of ports
      --gpus gpu-request                 GPU devices to add to the
                                         container ('all' to pass all GPUs)
      --group-add list                   Add additional groups to join
      --health-cmd string                Command to run to check health
      --health-interval duration         Time between running the check
                                         (ms|s|m|h) (default 0s)
      --health-retries int               Consecutive failures needed to
                                         report unhealthy
      --health-start-interval duration   Time between running the check
                                         during the start period
                                         (ms|s|m|h) (default 0s)
      --health-start-period duration     Start period for the container
                                         to initialize before starting
                                         health-retries countdown
                                         (ms|s|m|h) (default 0s)
      --health-timeout duration          Maximum time to allow one check
                                         to run (ms|s|m|h) (default 0s)
      --help                             Print usage
  -h, --hostname string                  Container host name
      --init                             Run an init inside the container
                                         that forwards signals and reaps
                                         processes
  -i, --interactive                      Keep STDIN open even if not attached
      --io-maxbandwidth bytes            Maximum IO bandwidth limit for
                                         the system drive (Windows only)
      --io-maxiops uint                  Maximum IOps limit for the
                                         system drive (Windows only)
      --ip string                        IPv4 address (e.g., 172.30.100.104)
      --ip6 string                       IPv6 address (e.g., 2001:db8::33)
      --ipc string                       IPC mode to use
      --isolation string                 Container isolation technology
      --kernel-memory bytes              Kernel memory limit
  -l, --label list                       Set meta data on a container
      --label-file list                  Read in a line delimited file of
                                         labels
      --link list                        Add link to another container
      --link-local-ip list               Container IPv4/IPv6 link-local
                                         addresses
      --log-driver string                Logging driver for the container
      --log-opt list                     Log driver options
      --mac-address string               Container MAC address (e.g.,
                                         92:d0:c6:0a:29:33)
  -m, --memory bytes                     Memory limit
      --memory-reservation bytes         Memory soft limit
      --memory-swap bytes                Swap limit equal to memory plus
                                         swap: '-1' to enable unlimited swap
      --memory-swappiness int            Tune container memory swappiness
                                         (0 to 100) (default -1)
      --mount mount                      Attach a filesystem mount to the
                                         container
      --name string                      Assign a name to the container
      --network network                  Connect a container to a network
      --network-alias list               Add network-scoped alias for the
                                         container
      --no-healthcheck                   Disable any container-specified
                                         HEALTHCHECK
      --oom-kill-disable                 Disable OOM Killer
      --oom-score-adj int                Tune host's OOM preferences
                                         (-1000 to 1000)
      --pid string                       PID namespace to use
      --pids-limit int                   Tune container pids limit (set
                                         -1 for unlimited)
      --platform string                  Set platform if server is
                                         multi-platform capable
      --privileged                       Give extended privileges to this
                                         container
  -p, --publish list                     Publish a container's port(s) to
                                         the host
  -P, --publish-all                      Publish all exposed ports to
                                         random ports
      --pull string                      Pull image before running
                                         ("always", "missing", "never")
                                         (default "missing")
  -q, --quiet                            Suppress the pull output
      --read-only                        Mount the container's root
                                         filesystem as read only
      --restart string                   Restart policy to apply when a
                                         container exits (default "no")
      --rm                               Automatically remove the
                                         container and its associated
                                         anonymous volumes when it exits
      --runtime string                   Runtime to use for this container
      --security-opt list                Security Options
      --shm-size bytes                   Size of /dev/shm
      --sig-proxy                        Proxy received signals to the
                                         process (default true)
      --stop-signal string               Signal to stop the container
      --stop-timeout int                 Timeout (in seconds) to stop a
                                         container
      --storage-opt list                 Storage driver options for the
                                         container
      --sysctl map                       Sysctl options (default map[])
      --tmpfs list                       Mount a tmpfs directory
  -t, --tty                              Allocate a pseudo-TTY
      --ulimit ulimit                    Ulimit options (default [])
      --use-api-socket                   Bind mount Docker API socket and
                                         required auth
  -u, --user string                      Username or UID (format:
                                         <name|uid>[:<group|gid>])
      --userns string                    User namespace to use
      --uts string                       UTS namespace to use
  -v, --volume list                      Bind mount a volume
      --volume-driver string             Optional volume driver for the
                                         container
      --volumes-from list                Mount volumes from the specified
                                         container(s)
  -w, --workdir string                   Working directory inside the
                                         container
"""


def _case_id(case):
    return " ".join(case[0]) or '""'


@pytest.mark.parametrize("case", DOCKER_LINES, ids=_case_id)
def test_command_line_as_docker(case):
    argv, expected = case[0], case[1:]
    status, out, err = cli(argv)
    if expected == (OK,):
        assert (status, err) == (0, ""), (status, err)
    else:
        assert (status, out, err) == expected


@pytest.mark.parametrize("argv,golden", [
    (["rm", "--help"], RM_HELP),
    (["ps", "--help"], PS_HELP),
    (["logs", "--help"], LOGS_HELP),
    (["exec", "--help"], EXEC_HELP),
    (["stop", "--help"], STOP_HELP),
    (["image", "ls", "--help"], IMAGE_LS_HELP),
    (["images", "--help"], IMAGES_HELP),
    (["volume", "create", "--help"], VOLUME_CREATE_HELP),
    (["rename", "--help"], RENAME_HELP),
    (["--help"], ROOT_HELP),
    (["container", "--help"], CONTAINER_HELP),
    (["image", "--help"], IMAGE_HELP),
    (["volume", "--help"], VOLUME_HELP),
    (["run", "--help"], RUN_HELP),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_help_as_docker(argv, golden):
    assert cli(argv) == (0, golden, "")


def test_help_variants_as_docker():
    # `-h` works, with a notice: on stdout for a command, on stderr at the root.
    notice = "Flag shorthand -h has been deprecated, use --help\n"
    assert cli(["rm", "-h"]) == (0, notice + RM_HELP, "")
    assert cli(["-h"]) == (0, ROOT_HELP, notice)
    assert cli(["-Dh"]) == (0, ROOT_HELP, notice)
    assert cli(["-h=false"]) == (0, "", notice + ROOT_HELP)
    assert cli(["--", "-h"]) == (0, notice + ROOT_HELP, "")
    ls_help = PS_HELP.replace("docker ps [", "docker container ls [")
    assert cli(["container", "ls", "-h"]) == (0, notice + ls_help, "")
    # a bare management command, or the root with no command: help on stderr
    assert cli(["image"]) == (0, "", IMAGE_HELP)
    assert cli(["container"]) == (0, "", CONTAINER_HELP)
    assert cli(["help", "container"]) == (0, CONTAINER_HELP, "")
    assert cli([]) == (0, "", ROOT_HELP)
    assert cli(["-D"]) == (0, "", ROOT_HELP)
    assert cli(["-H", "x"]) == (0, "", ROOT_HELP)
    assert cli(["--version=false"]) == (0, "", ROOT_HELP)
    assert cli(["--help=false"]) == (0, "", ROOT_HELP)
    assert cli(["--", "-D"]) == (0, "", ROOT_HELP)
    # --help on stdout wherever the flag is seen before the command runs
    assert cli(["--help"]) == (0, ROOT_HELP, "")
    assert cli(["help"]) == (0, ROOT_HELP, "")
    assert cli(["--", "--help"]) == (0, ROOT_HELP, "")
    assert cli(["--help", "rm"]) == (0, RM_HELP, "")
    assert cli(["help", "rm"]) == (0, RM_HELP, "")
    assert cli(["help", "image", "ls"]) == (0, IMAGE_LS_HELP, "")
    assert cli(["rm", "--help=true"]) == (0, RM_HELP, "")
    assert cli(["rm", "-f", "--help"]) == (0, RM_HELP, "")
    assert cli(["stop", "--help=1", "x"]) == (0, STOP_HELP, "")
    assert cli(["ps", "--help", "x"]) == (0, PS_HELP, "")
    assert cli(["image", "bogus", "--help"]) == (0, IMAGE_HELP, "")
    assert cli(["run", "-h", "x", "--help"]) == (0, RUN_HELP, "")
    assert cli(["container", "list", "--help"]) == (0, ls_help, "")
    assert cli(["container", "--help", "ls"]) == (0, ls_help, "")
    assert cli(["container", "--help", "ls", "-a"]) == (0, ls_help, "")
    assert cli(["help", "help"]) == (0, "Usage:  docker help [command]\n\nHelp about the command\n", "")
    assert cli(["help", "--help"]) == (0, "Usage:  docker help [command]\n\nHelp about the command\n", "")


def test_version_as_docker():
    version = "Docker version 28.2.2, build e6534b4\n"
    assert cli(["--version"]) == (0, version, "")
    assert cli(["-v"]) == (0, version, "")
    assert cli(["-v", "-D"]) == (0, version, "")
    assert cli(["-v", "bogus"]) == (0, version, "")       # the root's own run comes first
    assert cli(["--version", "ps"])[1] == ""              # with a command: runs the command


def test_deprecated_flag_notice_as_docker():
    status, out, err = cli(["stop", "--time", "3", "x"])
    assert (status, out, err) == (0, "Flag --time has been deprecated, use --timeout instead\n", "")
    assert CALLS[-1].opts.time == 3 and CALLS[-1].opts.timeout == 0


def test_help_wraps_to_the_terminal_width_as_docker():
    # docker 28.2.2 with `stty cols 60` / `stty cols 40`: width - 1 columns
    logs60 = LOGS_HELP.replace(
        '      --since string   Show logs since timestamp (e.g.\n'
        '                       "2013-01-02T13:23:37Z") or relative (e.g. "42m"\n'
        '                       for 42 minutes)\n',
        '      --since string   Show logs since timestamp\n'
        '                       (e.g. "2013-01-02T13:23:37Z")\n'
        '                       or relative (e.g. "42m" for 42\n'
        '                       minutes)\n')
    assert cli(["logs", "--help"], cols=59)[1].split("\n")[:14] == logs60.split("\n")[:14]
    narrow = cli(["volume", "create", "--help"], cols=39)[1]
    # too narrow to wrap (under 24 columns even at indent 16): one line each
    assert narrow.split("\n")[5:7] == [
        '      --availability string       Cluster Volume availability ("active", "pause", '
        '"drain") (default "active")',
        '  -d, --driver string             Specify volume driver name (default "local")',
    ]
    wide = cli(["volume", "create", "--help"], cols=199)[1]
    assert ('      --sharing string            Cluster Volume access sharing ("none", "readonly", '
            '"onewriter", "all") (default "none")\n') in wide


def test_help_columns_follow_standard_input(monkeypatch):
    def no_tty(fd):
        assert fd == 0
        raise OSError
    monkeypatch.setattr(os, "get_terminal_size", no_tty)
    assert help_columns() == 79
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((120, 40)))
    assert help_columns() == 119


# ------------------------------------------------------------ parsed values

def test_values_of_a_run_line():
    i = inv("run", "-itd", "--rm", "--name", "web", "-e", "A=1", "-e", "B=2,C=3", "--env=D",
            "-l", "k=v", "--label", "x", "-m", "512m", "--cpus", "1.5", "--ulimit",
            "nofile=1024:2048", "--ulimit", "nproc=10", "--sysctl", "net.a=1",
            "--sysctl", "net.b", "--health-interval", "1m30s", "-p80:80",
            "busybox", "sh", "-c", "echo hi", "-x", "--rm")
    o = i.opts
    assert i.action == "run" and i.path == ("docker", "run") and i.command_path == "docker run"
    assert (o.interactive, o.tty, o.detach, o.rm, o.name) == (True, True, True, True, "web")
    assert o.env == ["A=1", "B=2,C=3", "D" if "D" not in os.environ else "D=" + os.environ["D"]]
    assert o.label == ["k=v", "x"]
    assert o.memory == 512 * 1024 * 1024
    assert o.cpus == 1_500_000_000
    assert o.ulimit == {"nofile": ("nofile", 1024, 2048), "nproc": ("nproc", 10, 10)}
    assert o.ulimit["nofile"].to_api() == {"Name": "nofile", "Hard": 2048, "Soft": 1024}
    assert o.sysctl == {"net.a": "1", "net.b": ""}
    assert o.health_interval == 90 * 10**9
    assert o.publish == ["80:80"]
    # flags stop at the image: the rest is the container's command line
    assert i.args == ["busybox", "sh", "-c", "echo hi", "-x", "--rm"]
    assert o.changed("rm") and o.changed("memory") and not o.changed("pull")
    assert o.pull == "missing" and o.sig_proxy is True and o.memory_swappiness == -1
    assert o["cpu-shares"] == 0 and "cpu-shares" in o


def test_interspersed_flags_and_dash_dash():
    i = inv("rm", "c1", "-f", "c2", "-v")
    assert (i.args, i.opts.force, i.opts.volumes) == (["c1", "c2"], True, True)
    i = inv("rm", "c1", "--", "-f")
    assert (i.args, i.opts.force, i.dash_at) == (["c1", "-f"], False, 1)
    i = inv("run", "--rm", "--", "img", "--x")
    assert (i.args, i.dash_at) == (["img", "--x"], 0)
    i = inv("run", "img", "--", "x")
    assert (i.args, i.dash_at) == (["img", "--", "x"], -1)
    i = inv("exec", "-it", "c", "sh", "-c", "ls -l")
    assert (i.args, i.opts.tty) == (["c", "sh", "-c", "ls -l"], True)
    i = inv("rm", "-", "")
    assert i.args == ["-", ""]


def test_bool_flags_never_take_the_next_word():
    i = inv("run", "--rm", "false")
    assert (i.opts.rm, i.args) == (True, ["false"])
    assert inv("run", "--rm=false", "img").opts.rm is False
    assert inv("run", "-d=false", "img").opts.detach is False
    assert inv("ps", "-a=t").opts.all is True
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert inv("ps", "--all=" + text).opts.all is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert inv("ps", "--all=" + text).opts.all is False


def test_short_flag_forms():
    assert inv("ps", "-n5").opts.last == 5
    assert inv("ps", "-n=5").opts.last == 5
    assert inv("ps", "-n", "5").opts.last == 5
    assert inv("ps", "-an5").opts.last == 5
    assert inv("ps", "-n", "-5").opts.last == -5        # a value may start with "-"
    assert inv("run", "-e=X=1", "img").opts.env == ["X=1"]
    assert inv("run", "-p=", "img").opts.publish == ["="]  # "-p=": -p with value "=" (pflag)
    assert inv("run", "--name", "--rm", "img").opts.name == "--rm"
    assert inv("run", "-e", "--", "img").opts.env == ["--"]
    assert inv("ps", "-n", "0x10").opts.last == 16
    assert inv("ps", "-n", "017").opts.last == 15
    assert inv("ps", "-n", "0b101").opts.last == 5
    assert inv("ps", "-n", "1_000").opts.last == 1000


def test_alias_flag_shares_the_value():
    i = inv("run", "--net", "host", "--network", "n2", "img")
    assert i.opts.network == ["host", "n2"]
    assert i.opts.changed("net") and i.opts.changed("network")
    assert "--net " not in RUN_HELP


def test_filters_and_repeated_scalars():
    i = inv("ps", "-f", "Status=exited", "--filter", " label = a=b ", "--filter", "")
    assert i.opts.filter == [("status", "exited"), ("label", "a=b")]
    assert inv("stop", "-t", "3", "-t", "4", "x").opts.timeout == 4


def test_global_flags_are_values_of_the_root():
    i = inv("-D", "-H", "unix:///a", "--host=tcp://b:2375", "-l", "warn", "--tls", "ps", "-a")
    g = i.globals
    assert (g.debug, g.host, g.log_level, g.tls) == (True, ["unix:///a", "tcp://b:2375"], "warn", True)
    assert i.opts.all is True and i.path == ("docker", "ps")
    assert not hasattr(i.opts, "debug")
    i = inv("--config", "/c", "-c", "ctx", "container", "ls")
    assert (i.globals.config, i.globals.context, i.path) == ("/c", "ctx", ("docker", "container", "ls"))


def test_aliases_and_mounts():
    assert inv("container", "list").path == ("docker", "container", "ls")
    assert inv("container", "ps").path == ("docker", "container", "ls")
    assert inv("ps").command is inv("container", "ls").command
    assert inv("images").command is inv("image", "ls").command
    assert inv("remove", "x").path == ("docker", "rm")      # as docker: `docker remove` works
    with pytest.raises(UnknownCommand):
        inv("list")                                          # ... `docker list` does not
    assert inv("image", "list").use_line == "docker image ls [OPTIONS] [REPOSITORY[:TAG]]"
    assert inv("images").use_line == "docker images [OPTIONS] [REPOSITORY[:TAG]]"


def test_errors_are_invalid_arguments_with_usage():
    with pytest.raises(FlagError) as e:
        inv("run", "-m", "1x", "img")
    err = e.value
    assert isinstance(err, UsageError) and isinstance(err, InvalidArgument)
    assert err.reason == 'invalid argument "1x" for "-m, --memory" flag: invalid suffix: \'x\''
    assert err.usage == "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    assert err.command_path == "docker run"
    assert err.exit_code == exit_status(err) == 125 and err.http_status == 400
    with pytest.raises(ArgumentError) as e:
        inv("rm")
    assert e.value.exit_code == exit_status(e.value) == 1
    assert e.value.usage == "docker rm [OPTIONS] CONTAINER [CONTAINER...]"
    with pytest.raises(UnknownCommand) as e:
        inv("bogus")
    assert e.value.exit_code == 1 and e.value.usage == ""
    with pytest.raises(UnknownHelpTopic) as e:
        inv("help", "bogus")
    assert str(e.value) == "unknown help topic: bogus"
    assert exit_status(InvalidArgument("x")) == 125


def test_notices_are_reported_in_order():
    notices = []
    with pytest.raises(ArgumentError):
        parse(DOCKER, ["-h", "run"], notices)
    assert notices == [("stderr", "Flag shorthand -h has been deprecated, use --help")]
    assert cli(["-h", "run"])[2].startswith(
        "Flag shorthand -h has been deprecated, use --help\n"
        "docker: 'docker run' requires at least 1 argument\n")


# ------------------------------------------------------------ arg validators

def _tiny(args_check, name="t"):
    root = make_root("docker", extra_flags=())
    root.add(Command(f"{name} [ARGS]", "t", args=args_check, run=lambda inv: 0))
    return root


@pytest.mark.parametrize("check,argv,message", [
    (no_args, ["a"], "docker: 'docker t' accepts no arguments\n\nUsage:  docker t [ARGS]\n\n"
     "Run 'docker t --help' for more information"),
    (min_args(2), ["a"], "docker: 'docker t' requires at least 2 arguments\n\nUsage:  "
     "docker t [ARGS]\n\nSee 'docker t --help' for more information"),
    (max_args(2), ["a", "b", "c"], "docker: 'docker t' requires at most 2 arguments\n\nUsage:  "
     "docker t [ARGS]\n\nSRun 'docker t --help' for more information"),
    (exact_args(3), [], "docker: 'docker t' requires 3 arguments\n\nUsage:  docker t [ARGS]"
     "\n\nRun 'docker t --help' for more information"),
    (range_args(2, 3), ["a"], "docker: 'docker t' requires at least 2 and at most 3 arguments"
     "\n\nUsage:  docker t [ARGS]\n\nRun 'docker t --help' for more information"),
    (cobra_no_args, ["a"], 'unknown command "a" for "docker t"'),
    (cobra_exact_args(1), [], "accepts 1 arg(s), received 0"),   # docker 28: `context use`
    (cobra_min_args(1), [], "requires at least 1 arg(s), only received 0"),
    (cobra_max_args(1), ["a", "b"], "accepts at most 1 arg(s), received 2"),
    (cobra_range_args(1, 2), [], "accepts between 1 and 2 arg(s), received 0"),
])
def test_argument_checks(check, argv, message):
    root = _tiny(check)
    assert cli(["t"] + argv, root=root) == (1, "", message + "\n")


def test_argument_checks_accept():
    for check, argv in ((no_args, []), (min_args(1), ["a", "b"]), (max_args(1), []),
                        (exact_args(2), ["a", "b"]), (range_args(1, 2), ["a"])):
        assert cli(["t"] + argv, root=_tiny(check))[0] == 0


def test_required_flags():
    root = make_root("docker", extra_flags=())
    root.add(Command("t", "t", run=lambda inv: 0, flags=[
        Flag.string("a", required=True), Flag.string("b", required=True)]))
    assert cli(["t"], root=root) == (1, "", 'required flag(s) "a", "b" not set\n')
    assert cli(["t", "--a", "1", "--b="], root=root)[0] == 0


# ------------------------------------------------------------ the hakobune root

def test_hakobune_root():
    from hakobune import __version__

    root = make_root()
    ran = []
    root.add(Command("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
                     args=min_args(1), run=lambda inv: ran.append(inv) or 3))
    assert cli(["--version"], root=root) == (0, f"hakobune version {__version__}\n", "")
    assert cli(["rm"], root=root) == (1, "", (
        "hakobune: 'hakobune rm' requires at least 1 argument\n\nUsage:  hakobune rm "
        "[OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'hakobune rm --help' for more information\n"))
    assert cli(["bogus"], root=root) == (1, "", (
        "hakobune: unknown command: hakobune bogus\n\nRun 'hakobune --help' for more information\n"))
    assert cli(["--root", "/r", "--runroot=/rr", "rm", "c"], root=root)[0] == 3
    assert (ran[0].globals.root, ran[0].globals.runroot, ran[0].args) == ("/r", "/rr", ["c"])
    assert cli(["-l", "nope", "rm", "c"], root=root) == (1, "", "Unable to parse logging level: nope\n")
    assert cli(["-l", "WARNING", "rm", "c"], root=root)[0] == 3
    text = cli(["--help"], root=root)[1]
    assert text.startswith("Usage:  hakobune [OPTIONS] COMMAND\n")
    assert '"hakobune context use"' in " ".join(text.split())
    assert "--root string" in text and "--runroot string" in text


def test_hakobune_root_environment(monkeypatch):
    monkeypatch.setenv("HAKOBUNE_ROOT", "/x/root")
    monkeypatch.setenv("DOCKER_CONFIG", "/cfg")
    root = make_root()
    root.add(Command("t", "t", run=lambda inv: 0))
    g = inv("t", root=root).globals
    assert (g.root, g.runroot, g.config, g.tlscacert) == (
        "/x/root", "/run/hakobune", "/cfg", "/cfg/ca.pem")


def test_run_given_as_a_module_path():
    root = make_root("docker", extra_flags=())
    root.add(Command("t", "t", run="os.path:basename"))
    i = parse(root, ["t"])
    from hakobune.cli.args.command import resolve
    assert resolve(i.command.run) is os.path.basename


def test_management_command_without_children_help():
    root = make_root("docker", extra_flags=())
    grp = root.add(Command("grp", "A group"))
    grp.add(Command("x", "Do x", run=lambda inv: 0))
    assert cli(["grp"], root=root) == (0, "", (
        "Usage:  docker grp COMMAND\n\nA group\n\nCommands:\n  x           Do x\n\n"
        "Run 'docker grp COMMAND --help' for more information on a command.\n"))
    assert cli(["grp", "y"], root=root) == (1, "", (
        "docker: unknown command: docker grp y\n\nUsage:  docker grp\n\n"
        "Run 'docker grp --help' for more information\n"))


def test_command_without_run():
    root = make_root("docker", extra_flags=())
    root.add(Command("t", "t"))
    assert cli(["t"], root=root) == (1, "", "docker t: not implemented\n")


def test_hooks_run_after_their_flags():
    seen = []
    root = make_root("docker", extra_flags=())
    grp = root.add(Command("grp", "g", flags=[Flag.string("zone", "z", "z")],
                           hook=lambda v: seen.append(("grp", v.zone))))
    grp.add(Command("x", "x", run=lambda inv: 0, hook=lambda v: seen.append(("x",))))
    assert cli(["grp", "-z", "eu", "x"], root=root)[0] == 0
    assert seen == [("grp", "eu"), ("x",)]


def test_persistent_flags_reach_subcommands():
    root = make_root("docker", extra_flags=())
    grp = root.add(Command("grp", "g", flags=[Flag.bool("all", "a", "All", persistent=True)]))
    grp.add(Command("x", "x", run=lambda inv: 0))
    assert inv("grp", "x", "-a", root=root).opts.all is True
    assert inv("grp", "-a", "x", root=root).opts.all is True
    assert inv("grp", "x", root=root).opts.all is False


def test_no_opt_default():
    root = make_root("docker", extra_flags=())
    root.add(Command("t", "t", run=lambda inv: 0, flags=[
        Flag.string("pull", "", "Pull", no_opt="always", default="missing"),
        Flag.int("n", "n", "N", no_opt="7")]))
    assert inv("t", root=root).opts.pull == "missing"
    assert inv("t", "--pull", root=root).opts.pull == "always"
    assert inv("t", "--pull", "never", root=root).args == ["never"]
    assert inv("t", "--pull=never", root=root).opts.pull == "never"
    assert inv("t", "-n", root=root).opts.n == 7
    assert inv("t", "-n=3", root=root).opts.n == 3
    text = cli(["t", "--help"], root=root)[1]
    assert '  -n, --n int[=7]                N\n' in text
    assert '      --pull string[="always"]   Pull (default "missing")\n' in text


# ------------------------------------------------------------ FlagSet (pflag)

def _fs(*flags):
    fs = FlagSet()
    v = Values()
    for f in flags:
        fs.add(f, v)
    return fs, v


def test_flagset_errors():
    fs, v = _fs(Flag.bool("all", "a"), Flag.string("name", "n"), Flag.int("num", ""))
    cases = {
        ("--nope",): "unknown flag: --nope",
        ("--nope=1",): "unknown flag: --nope",
        ("-x",): "unknown shorthand flag: 'x' in -x",
        ("-ax",): "unknown shorthand flag: 'x' in -x",
        ("-a-n",): "unknown shorthand flag: '-' in --n",
        ("-'",): "unknown shorthand flag: '\\'' in -'",
        ("-\x01",): "unknown shorthand flag: '\\x01' in -\x01",
        ("--name",): "flag needs an argument: --name",
        ("-n",): "flag needs an argument: 'n' in -n",
        ("-an",): "flag needs an argument: 'n' in -n",
        ("---x",): "bad flag syntax: ---x",
        ("--=x",): "bad flag syntax: --=x",
        ("--num", "x"): 'invalid argument "x" for "--num" flag: strconv.ParseInt: parsing "x": '
                        'invalid syntax',
        ("-a=x",): 'invalid argument "x" for "-a, --all" flag: strconv.ParseBool: parsing "x": '
                   'invalid syntax',
        ("--num", 'a"b\n'): 'invalid argument "a\\"b\\n" for "--num" flag: strconv.ParseInt: '
                            'parsing "a\\"b\\n": invalid syntax',
    }
    for argv, message in cases.items():
        with pytest.raises(FlagParseError) as e:
            fs.parse(list(argv))
        assert str(e.value) == message, argv


def test_flagset_short_deprecated_and_deprecated():
    notices = []
    fs, v = _fs(Flag.bool("help", "h", short_deprecated="use --help", hidden=True),
                Flag.string("old", "o", deprecated="use --new"))
    fs.parse(["-h", "--old", "x", "-oy"], notices=notices)
    assert notices == ["Flag shorthand -h has been deprecated, use --help",
                       "Flag --old has been deprecated, use --new",
                       "Flag --old has been deprecated, use --new"]
    assert v.old == "y" and fs.lookup("old").hidden
    assert fs.usages(79) == ""    # deprecated and hidden flags are not listed
    # a shorthand marked deprecated is not shown in messages either
    with pytest.raises(FlagParseError) as e:
        fs.parse(["--help=x"])
    assert str(e.value).startswith('invalid argument "x" for "--help" flag')


def test_string_slice_and_array():
    fs, v = _fs(Flag.string_slice("slice", "s", default=["d"]), Flag.string_array("arr", "a"))
    assert v.slice == ["d"]
    fs.parse(["-s", 'a,"b,c"', "--slice", "d,,e", "-a", "x,y", "-a", "z"])
    assert v.slice == ["a", "b,c", "d", "", "e"]
    assert v.arr == ["x,y", "z"]
    fs2, v2 = _fs(Flag.string_slice("slice", "s", default=["d"]))
    fs2.parse(["--slice="])
    assert v2.slice == []
    text = _fs(Flag.string_slice("cache-from", "", "Images", default=["a", "b c", "d,e"]))[0]
    assert text.usages(79) == '      --cache-from strings   Images (default [a,b c,"d,e"])'


@pytest.mark.parametrize("text,error", [   # docker 28.2.2, network create --subnet
    ('"a', 'parse error on line 1, column 3: extraneous or missing " in quoted-field'),
    ('a"b', 'parse error on line 1, column 2: bare " in non-quoted-field'),
    ('"a"",b', 'parse error on line 1, column 7: extraneous or missing " in quoted-field'),
    ('"a"b"', 'parse error on line 1, column 3: extraneous or missing " in quoted-field'),
    (' "a"', 'parse error on line 1, column 2: bare " in non-quoted-field'),
    ('"a" ', 'parse error on line 1, column 3: extraneous or missing " in quoted-field'),
    ('x,"y', 'parse error on line 1, column 5: extraneous or missing " in quoted-field'),
    ('"x"y', 'parse error on line 1, column 3: extraneous or missing " in quoted-field'),
])
def test_csv_errors(text, error):
    with pytest.raises(ValueError) as e:
        K.read_csv_record(text)
    assert str(e.value) == error


def test_csv_records():
    assert K.read_csv_record("") == []
    assert K.read_csv_record('"a,b",c') == ["a,b", "c"]
    assert K.read_csv_record('"a""b"') == ['a"b']
    assert K.read_csv_record("a,,b") == ["a", "", "b"]
    assert K.read_csv_record("a,") == ["a", ""]


def test_wrap_rules():
    # under 24 columns of room: the text moves to lines of its own at 16
    assert wrap(60, 79, "short text") == "\n" + " " * 16 + "short text"
    assert wrap(10, 0, "a\nb") == "a\n" + " " * 10 + "b"
    # a long word is never broken
    assert wrap(10, 40, "x" * 50) == "x" * 50


def test_flag_declaration_errors():
    with pytest.raises(ValueError):
        Flag.bool("all", "ab")
    fs = FlagSet()
    with pytest.raises(ValueError):
        fs.add(Flag.alias("net", "network"), Values())


# ------------------------------------------------------------ Go syntax

def test_go_quote():
    assert G.quote('a"b\\c') == '"a\\"b\\\\c"'
    assert G.quote("\n\t\x00\x7f") == '"\\n\\t\\x00\\x7f"'
    assert G.quote("é→") == '"é→"'
    assert G.quote("\u00a0\u200b") == '"\\u00a0\\u200b"'
    assert G.quote("\U0001f600") == '"\U0001f600"'
    assert G.quote(b"\xff".decode("utf-8", "surrogateescape")) == '"\\xff"'
    assert G.quote_char("é") == "'Ã'"                  # docker 28.2.2: `run -é x`
    assert G.quote_char("z") == "'z'"
    assert G.time_quote("é") == '"\\xc3\\xa9"'          # docker 28.2.2: --health-interval é


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("-0", 0), ("+5", 5), ("0x10", 16), ("0X1f", 31), ("0o17", 15), ("017", 15),
    ("0b101", 5), ("1_000", 1000), ("0_1", 1), ("0x_1", 1), ("-9223372036854775808", -2**63),
    ("9223372036854775807", 2**63 - 1),
])
def test_parse_int(text, value):
    assert G.parse_int(text) == value


@pytest.mark.parametrize("text,what", [
    ("", "invalid syntax"), ("x", "invalid syntax"), (" 5", "invalid syntax"),
    ("08", "invalid syntax"), ("1__0", "invalid syntax"), ("_1", "invalid syntax"),
    ("1_", "invalid syntax"), ("0x", "invalid syntax"), ("+", "invalid syntax"),
    ("--1", "invalid syntax"), ("9223372036854775808", "value out of range"),
    ("99999999999999999999", "value out of range"),
])
def test_parse_int_errors(text, what):
    with pytest.raises(ValueError) as e:
        G.parse_int(text)
    assert str(e.value) == f"strconv.ParseInt: parsing {G.quote(text)}: {what}"


def test_parse_int_base_10_and_sizes():
    assert G.parse_int("-12", 10) == -12
    with pytest.raises(ValueError):
        G.parse_int("0x10", 10)                       # docker 28.2.2: --ulimit nofile=0x10
    with pytest.raises(ValueError):
        G.parse_int("1_0", 10)
    assert G.parse_int("2147483647", 0, 32) == 2**31 - 1
    with pytest.raises(ValueError):
        G.parse_int("2147483648", 0, 32)


def test_parse_uint():
    assert G.parse_uint("65535", 0, 16) == 65535
    for text, what in (("70000", "value out of range"), ("-1", "invalid syntax"),
                       ("+1", "invalid syntax")):
        with pytest.raises(ValueError) as e:
            G.parse_uint(text, 0, 16)
        assert str(e.value) == f'strconv.ParseUint: parsing "{text}": {what}'


@pytest.mark.parametrize("text,value", [
    ("1", 1.0), ("1.5", 1.5), (".5", 0.5), ("5.", 5.0), ("1e3", 1000.0), ("1E3", 1000.0),
    ("1_000", 1000.0), ("0x1p10", 1024.0), ("0x1.8p1", 3.0), ("-2.5e-1", -0.25),
    ("inf", float("inf")), ("-Infinity", float("-inf")),
])
def test_parse_float(text, value):
    assert G.parse_float(text) == value


@pytest.mark.parametrize("text,what", [
    ("", "invalid syntax"), (" 1", "invalid syntax"), ("1.5.5", "invalid syntax"),
    ("0x10", "invalid syntax"), ("1e", "invalid syntax"), ("1k", "invalid syntax"),
    ("1__0", "invalid syntax"), ("+nan", "invalid syntax"), (".", "invalid syntax"),
    ("1e400", "value out of range"), ("0x1p2000", "value out of range"),
])
def test_parse_float_errors(text, what):
    with pytest.raises(ValueError) as e:
        G.parse_float(text)
    assert str(e.value) == f"strconv.ParseFloat: parsing {G.quote(text)}: {what}"


@pytest.mark.parametrize("text,ns", [
    ("0", 0), ("10s", 10 * 10**9), ("1m30s", 90 * 10**9), ("1h2m3.5s", 3723.5 * 10**9),
    ("-5s", -5 * 10**9), ("+5s", 5 * 10**9), ("1.s", 10**9), ("1µs", 1000), ("1μs", 1000),
    ("1us", 1000), ("1.5ms", 1_500_000), ("300ns", 300), (".5h", 1800 * 10**9),
    ("2562047h47m16.854775807s", 2**63 - 1),
])
def test_parse_duration(text, ns):
    assert G.parse_duration(text) == ns


@pytest.mark.parametrize("text,message", [   # docker 28.2.2: --health-interval
    ("5", 'time: missing unit in duration "5"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("5S", 'time: unknown unit "S" in duration "5S"'),
    ("1s2", 'time: missing unit in duration "1s2"'),
    (".s", 'time: invalid duration ".s"'),
    ("", 'time: invalid duration ""'),
    ("99999999999h", 'time: invalid duration "99999999999h"'),
    ("é", 'time: invalid duration "\\xc3\\xa9"'),
    ("-", 'time: invalid duration "-"'),
])
def test_parse_duration_errors(text, message):
    with pytest.raises(ValueError) as e:
        G.parse_duration(text)
    assert str(e.value) == message


@pytest.mark.parametrize("ns,text", [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_500_000, "1.5ms"), (10**9, "1s"),
    (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (3723_500_000_000, "1h2m3.5s"),
    (-5 * 10**9, "-5s"), (2**63 - 1, "2562047h47m16.854775807s"),
])
def test_format_duration(ns, text):
    assert G.format_duration(ns) == text


# ------------------------------------------------------------ docker's converters

@pytest.mark.parametrize("text,value", [   # docker 28.2.2: all accepted by `run -m`
    ("512m", 512 << 20), ("1g", 1 << 30), ("1.5g", 3 << 29), ("1GiB", 1 << 30),
    ("1kB", 1024), ("1KIB", 1024), ("1 k", 1024), ("0x1p10", 1024), ("1_000", 1000),
    (".5k", 512), ("5.k", 5120), ("1b", 1), ("+5", 5), ("1E3", 1000), ("1e3", 1000),
    ("99999999999999999999", -2**63),
])
def test_ram_in_bytes(text, value):
    assert K.ram_in_bytes(text) == value


@pytest.mark.parametrize("text,message", [   # docker 28.2.2: `run -m`
    ("x", "invalid size: 'x'"), ("", "invalid size: ''"), ("-1", "invalid size: '-1'"),
    ("inf", "invalid size: 'inf'"), ("NaN", "invalid size: 'NaN'"), ("１", "invalid size: '１'"),
    ("512x", "invalid suffix: 'x'"), ("1X", "invalid suffix: 'x'"),
    ("1XYZW", "invalid suffix: 'XYZW'"), ("1kk", "invalid suffix: 'kk'"),
    ("1bb", "invalid suffix: 'bb'"), ("1ki", "invalid suffix: 'ki'"),
    ("1ib", "invalid suffix: 'ib'"), ("1_", "invalid suffix: '_'"),
    (" 1k", 'strconv.ParseFloat: parsing " 1": invalid syntax'),
    ("1k ", 'strconv.ParseFloat: parsing "1k": invalid syntax'),
    ("1.5.5", 'strconv.ParseFloat: parsing "1.5.5": invalid syntax'),
    ("0x10", 'strconv.ParseFloat: parsing "0x10": invalid syntax'),
    ("1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'),
])
def test_ram_in_bytes_errors(text, message):
    with pytest.raises(ValueError) as e:
        K.ram_in_bytes(text)
    assert str(e.value) == message


def test_other_sizes():
    assert K.from_human_size("1kB") == 1000 and K.from_human_size("2M") == 2_000_000
    assert K.swap_bytes("-1") == -1 and K.swap_bytes("1k") == 1024


@pytest.mark.parametrize("text,nano", [   # docker 28.2.2: all accepted by `run --cpus`
    ("1.5", 1_500_000_000), ("1/2", 500_000_000), ("1e-9", 1), (".5", 500_000_000),
    ("2.", 2_000_000_000), ("0x10", 16_000_000_000), ("0b11", 3_000_000_000),
    ("-1", -1_000_000_000), ("-1/2", -500_000_000), ("1.5e3", 1_500_000_000_000),
    ("1.5p1", 3_000_000_000), ("1_0", 10_000_000_000), ("010", 10_000_000_000),
    ("0x1.8", 1_500_000_000),
])
def test_cpus(text, nano):
    assert K.parse_cpus(text) == nano


@pytest.mark.parametrize("text,message", [
    ("abc", "failed to parse abc as a rational number"),
    ("1.5.5", "failed to parse 1.5.5 as a rational number"),
    (" 1", "failed to parse  1 as a rational number"),
    ("1/0", "failed to parse 1/0 as a rational number"),
    ("1/-2", "failed to parse 1/-2 as a rational number"),
    ("0.0000000001", "value is too precise"),
])
def test_cpus_errors(text, message):
    with pytest.raises(ValueError) as e:
        K.parse_cpus(text)
    assert str(e.value) == message


@pytest.mark.parametrize("text,value", [
    ("nofile=1024", ("nofile", 1024, 1024)), ("nofile=1:2", ("nofile", 1, 2)),
    ("nofile=-1", ("nofile", -1, -1)), ("nofile=1:-1", ("nofile", 1, -1)),
    ("nofile=-3:-2", ("nofile", -3, -2)), ("nofile=+5", ("nofile", 5, 5)),
])
def test_ulimit(text, value):
    u = K.parse_ulimit(text)
    assert u == value and str(u) == f"{value[0]}={value[1]}:{value[2]}"


@pytest.mark.parametrize("text,message", [   # docker 28.2.2: `run --ulimit`
    ("x", "invalid ulimit argument: x"),
    ("nofile", "invalid ulimit argument: nofile"),
    ("foo=1", "invalid ulimit type: foo"),
    ("foo=x", "invalid ulimit type: foo"),
    ("=1", "invalid ulimit type: "),
    ("NOFILE=1", "invalid ulimit type: NOFILE"),
    ("nofile=a", 'strconv.ParseInt: parsing "a": invalid syntax'),
    ("nofile=1:b", 'strconv.ParseInt: parsing "b": invalid syntax'),
    ("nofile=", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=1:", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=:1", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=0x10", 'strconv.ParseInt: parsing "0x10": invalid syntax'),
    ("nofile=1=2", 'strconv.ParseInt: parsing "1=2": invalid syntax'),
    ("nofile=99999999999999999999",
     'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ("nofile=1:2:3",
     "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"),
    ("nofile=1:2:",
     "too many limit value arguments - 1:2:, can only have up to two, `soft[:hard]`"),
    ("nofile=2:1", "ulimit soft limit must be less than or equal to hard limit: 2 > 1"),
    ("nofile=5:-2", "ulimit soft limit must be less than or equal to hard limit: 5 > -2"),
    ("nofile=-2:-3", "ulimit soft limit must be less than or equal to hard limit: -2 > -3"),
    ("nofile=-1:5", "ulimit soft limit must be less than or equal to hard limit: "
                    "soft: -1 (unlimited), hard: 5"),
])
def test_ulimit_errors(text, message):
    with pytest.raises(ValueError) as e:
        K.parse_ulimit(text)
    assert str(e.value) == message


def test_validators(monkeypatch):
    monkeypatch.setenv("HK_ARGS_TEST", "v")
    monkeypatch.delenv("HK_ARGS_UNSET", raising=False)
    assert K.validate_env("A=1") == "A=1"
    assert K.validate_env(" =x") == " =x"                     # docker 28.2.2 accepts it
    assert K.validate_env("HK_ARGS_TEST") == "HK_ARGS_TEST=v"
    assert K.validate_env("HK_ARGS_UNSET") == "HK_ARGS_UNSET"
    assert K.validate_label(" a=x") == " a=x"
    assert K.validate_extra_host("x=1.2.3.4") == "x:1.2.3.4"
    assert K.validate_extra_host("x:host-gateway") == "x:host-gateway"
    assert K.validate_extra_host("x:[::1]") == "x:::1"
    assert K.validate_ip(" ::1 ") == "::1" and K.validate_ip("1.2.3.4") == "1.2.3.4"
    assert K.validate_dns_search(".") == "." and K.validate_dns_search("a.b-c.d") == "a.b-c.d"
    assert K.validate_sysctl("kernel.shm_rmid_forced=1") == "kernel.shm_rmid_forced=1"
    assert K.validate_sysctl("fs.mqueue.x=1") == "fs.mqueue.x=1"
    assert K.validate_link("a") == "a" and K.validate_link("a:b") == "a:b"
    assert K.parse_filter("") is None and K.parse_filter("=x") == ("", "x")


@pytest.mark.parametrize("check,text,message", [   # docker 28.2.2: `docker run ...`
    (K.validate_env, "", "invalid environment variable: "),
    (K.validate_env, "=x", "invalid environment variable: =x"),
    (K.validate_label, "", "invalid label '': empty name"),
    (K.validate_label, "=x", "invalid label '=x': empty name"),
    (K.validate_label, " =x", "invalid label ' =x': empty name"),
    (K.validate_extra_host, "x", 'bad format for add-host: "x"'),
    (K.validate_extra_host, ":1.2.3.4", 'bad format for add-host: ":1.2.3.4"'),
    (K.validate_extra_host, "x:1.2.3", 'invalid IP address in add-host: "1.2.3"'),
    (K.validate_ip, "x", "IP address is not correctly formatted: x"),
    (K.validate_dns_search, "-x", "-x is not a valid domain"),
    (K.validate_dns_search, "a..b", "a..b is not a valid domain"),
    (K.validate_sysctl, "x", "sysctl 'x' is not allowed"),
    (K.validate_sysctl, "kernel.x=1", "sysctl 'kernel.x=1' is not allowed"),
    (K.validate_sysctl, "vm.x=1", "sysctl 'vm.x=1' is not allowed"),
    (K.validate_link, "a:b:c", "bad format for links: a:b:c"),
    (K.parse_filter, "bogus", "bad format of filter (expected name=value)"),
])
def test_validator_errors(check, text, message):
    with pytest.raises(ValueError) as e:
        check(text)
    assert str(e.value) == message


def test_converter_raising_a_hakobune_error():
    root = make_root("docker", extra_flags=())

    def strict(text):
        raise InvalidArgument(f"nope: {text}")
    root.add(Command("t", "t", run=lambda inv: 0, flags=[Flag.list("x", "", convert=strict)]))
    assert cli(["t", "--x", "a"], root=root)[2].startswith(
        'invalid argument "a" for "--x" flag: nope: a\n')


def test_default_rendering():
    fs, _ = _fs(Flag.float("ratio", "", "R", default=0.5), Flag.duration("wait", "", "W",
                default=5 * 10**9), Flag.uint32("port", "", "P", default=24),
                Flag.bool("on", "", "O", default=True), Flag.map("m", "", "M"),
                Flag.ulimit("u", "", "U", default={"nofile": K.Ulimit("nofile", 1, 2)}),
                Flag.string("s", "", "S", default="x", show_default=False),
                Flag.filter("f", "", "F"), Flag.cpus("c", "", "C"), Flag.bytes("b", "", "B"))
    assert fs.usages(200).split("\n") == [
        "      --b bytes         B",
        "      --c decimal       C",
        "      --f filter        F",
        "      --m map           M (default map[])",
        "      --on              O (default true)",
        "      --port uint32     P (default 24)",
        "      --ratio float     R (default 0.5)",
        "      --s string        S",
        "      --u ulimit        U (default [nofile=1:2])",
        "      --wait duration   W (default 5s)",
    ]


def test_alias_may_come_before_its_flag():
    root = make_root("docker", extra_flags=())
    root.add(Command("t", "t", run=lambda inv: 0, flags=[
        Flag.alias("net", "network"), Flag.list("network", "", "Network")]))
    assert inv("t", "--net", "a", "--network", "b", root=root).opts.network == ["a", "b"]
    assert "--net " not in cli(["t", "--help"], root=root)[1]


def test_render_help_directly():
    chain = inv("rm", "x").chain
    assert render_help(chain, 79) == RM_HELP
