"""`hakobune`: the daemonless command line.

The command tree is docker's (hakobune.cli.args parses as cobra/pflag do);
each command's handler lives in a module imported only when it runs
(`hakobune.cli.images`, `hakobune.cli.system`), calls the Engine and prints.
Errors are mapped to messages and exit statuses in one table, `ERRORS`.
Global options: --root/--runroot (and HAKOBUNE_ROOT/HAKOBUNE_RUNROOT), as
Podman takes them, besides docker's own.
"""

import os
import sys

DEFAULT_ROOT = "/var/lib/hakobune"
DEFAULT_RUNROOT = "/run/hakobune"

FORMAT_HELP = ("Format output using a custom template:\n"
               "'table':            Print output in table format with column headers (default)\n"
               "'table TEMPLATE':   Print output in table format using the given Go template\n"
               "'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template.\n"
               "Refer to https://docs.docker.com/go/formatting/ for more information about formatting "
               "output with templates")
INSPECT_FORMAT_HELP = ("Format output using a custom template:\n"
                       "'json':             Print in JSON format\n"
                       "'TEMPLATE':         Print output using the given Go template.\n"
                       "Refer to https://docs.docker.com/go/formatting/ for more information about "
                       "formatting output with templates")


class CLIError(Exception):
    """An error of the command line itself (not the engine's): printed as
    is, then exit with `status`.  An empty message prints nothing."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


# --- the command tree -------------------------------------------------------------

def _images_command(use: str, aliases=()):
    from hakobune.cli.args import Command, Flag, max_args

    return Command(use, "List images", aliases=aliases, args=max_args(1), run="hakobune.cli.images:images",
                   flags=[Flag.bool("all", "a", "Show all images (default hides intermediate images)"),
                          Flag.bool("digests", "", "Show digests"),
                          Flag.filter("filter", "f", "Filter output based on conditions provided"),
                          Flag.string("format", "", FORMAT_HELP),
                          Flag.bool("no-trunc", "", "Don't truncate output"),
                          Flag.bool("quiet", "q", "Only show image IDs")])


def _ps_command(use: str, aliases=()):
    from hakobune.cli.args import Command, Flag, no_args

    return Command(use, "List containers", aliases=aliases, args=no_args, run="hakobune.cli.containers:ps",
                   flags=[Flag.bool("all", "a", "Show all containers (default shows just running)"),
                          Flag.filter("filter", "f", "Filter output based on conditions provided"),
                          Flag.string("format", "", FORMAT_HELP),
                          Flag.int("last", "n", "Show n last created containers (includes all states)",
                                   default=-1),
                          Flag.bool("latest", "l", "Show the latest created container (includes all states)"),
                          Flag.bool("no-trunc", "", "Don't truncate output"),
                          Flag.bool("quiet", "q", "Only display container IDs"),
                          Flag.bool("size", "s", "Display total file sizes")])


def _history_command():
    from hakobune.cli.args import Command, Flag, exact_args

    return Command("history [OPTIONS] IMAGE", "Show the history of an image", args=exact_args(1),
                   run="hakobune.cli.images:history",
                   flags=[Flag.string("format", "", FORMAT_HELP),
                          Flag.bool("human", "H", "Print sizes and dates in human readable format",
                                    default=True),
                          Flag.bool("no-trunc", "", "Don't truncate output"),
                          Flag.string("platform", "", "Show history for the given platform. Formatted as "
                                      '"os[/arch[/variant]]" (e.g., "linux/amd64")'),
                          Flag.bool("quiet", "q", "Only show image IDs")])


def _tag_command():
    from hakobune.cli.args import Command, exact_args

    return Command("tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
                   "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", args=exact_args(2),
                   run="hakobune.cli.images:tag")


def _rmi_command(use: str, aliases=()):
    from hakobune.cli.args import Command, Flag, min_args

    return Command(use, "Remove one or more images", aliases=aliases, args=min_args(1),
                   run="hakobune.cli.images:rmi",
                   flags=[Flag.bool("force", "f", "Force removal of the image"),
                          Flag.bool("no-prune", "", "Do not delete untagged parents")])


def _import_command():
    from hakobune.cli.args import Command, Flag, range_args

    return Command("import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                   "Import the contents from a tarball to create a filesystem image", args=range_args(1, 2),
                   run="hakobune.cli.images:import_",
                   flags=[Flag.list("change", "c", "Apply Dockerfile instruction to the created image"),
                          Flag.string("message", "m", "Set commit message for imported image"),
                          Flag.string("platform", "", "Set platform if server is multi-platform capable")])


def _save_command():
    from hakobune.cli.args import Command, Flag, min_args

    return Command("save [OPTIONS] IMAGE [IMAGE...]",
                   "Save one or more images to a tar archive (streamed to STDOUT by default)",
                   args=min_args(1), run="hakobune.cli.images:save",
                   flags=[Flag.string("output", "o", "Write to a file, instead of STDOUT"),
                          Flag.string_slice("platform", "", "Save only the given platform(s)")])


def _load_command():
    from hakobune.cli.args import Command, Flag, no_args

    return Command("load [OPTIONS]", "Load an image from a tar archive or STDIN", args=no_args,
                   run="hakobune.cli.images:load",
                   flags=[Flag.string("input", "i", "Read from tar archive file, instead of STDIN"),
                          Flag.bool("quiet", "q", "Suppress the load output"),
                          Flag.string_slice("platform", "", "Load only the given platform(s)")])


def _pull_command(use: str):
    from hakobune.cli.args import Command, Flag, exact_args

    return Command(use, "Download an image from a registry", args=exact_args(1), run="hakobune.cli.registry:pull",
                   flags=[Flag.bool("all-tags", "a", "Download all tagged images in the repository"),
                          Flag.string("platform", "", "Set platform if server is multi-platform capable"),
                          Flag.bool("quiet", "q", "Suppress verbose output")])


def _push_command(use: str):
    from hakobune.cli.args import Command, Flag, exact_args

    return Command(use, "Upload an image to a registry", args=exact_args(1), run="hakobune.cli.registry:push",
                   flags=[Flag.bool("all-tags", "a", "Push all tags of an image to the repository"),
                          Flag.bool("quiet", "q", "Suppress verbose output")])


def _run_flags(run: bool):
    """`run` and `create` flags, with docker's names, help and value kinds
    (hakobune.createbody.runopts turns them into the create body)."""
    from hakobune.cli.args import Flag, kinds

    health_unit = " (ms|s|m|h)"
    flags = [Flag.list("cap-add", "", "Add Linux capabilities"),
             Flag.list("cap-drop", "", "Drop Linux capabilities"),
             Flag.string("cgroup-parent", "", "Optional parent cgroup for the container"),
             Flag.int("cpu-period", "", "Limit CPU CFS (Completely Fair Scheduler) period"),
             Flag.int("cpu-quota", "", "Limit CPU CFS (Completely Fair Scheduler) quota"),
             Flag.int("cpu-shares", "c", "CPU shares (relative weight)"),
             Flag.cpus("cpus", "", "Number of CPUs"),
             Flag.string("cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)"),
             Flag.string("cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)"),
             Flag.list("device", "", "Add a host device to the container"),
             Flag.list("env", "e", "Set environment variables", convert=kinds.validate_env),
             Flag.list("env-file", "", "Read in a file of environment variables"),
             Flag.string("entrypoint", "", "Overwrite the default ENTRYPOINT of the image"),
             Flag.list("group-add", "", "Add additional groups to join"),
             Flag.string("health-cmd", "", "Command to run to check health"),
             Flag.duration("health-interval", "", "Time between running the check" + health_unit,
                           show_default=True),
             Flag.int("health-retries", "", "Consecutive failures needed to report unhealthy"),
             Flag.duration("health-start-interval", "", "Time between running the check during the start "
                           "period" + health_unit, show_default=True),
             Flag.duration("health-start-period", "", "Start period for the container to initialize before "
                           "starting health-retries countdown" + health_unit, show_default=True),
             Flag.duration("health-timeout", "", "Maximum time to allow one check to run" + health_unit,
                           show_default=True),
             Flag.string("hostname", "h", "Container host name"),
             Flag.bool("init", "", "Run an init inside the container that forwards signals and reaps processes"),
             Flag.bool("interactive", "i", "Keep STDIN open even if not attached"),
             Flag.string("ipc", "", "IPC mode to use"),
             Flag.list("label", "l", "Set meta data on a container", convert=kinds.validate_label),
             Flag.list("label-file", "", "Read in a line delimited file of labels"),
             Flag.string("log-driver", "", "Logging driver for the container"),
             Flag.list("log-opt", "", "Log driver options"),
             Flag.bytes("memory", "m", "Memory limit"),
             Flag.bytes("memory-reservation", "", "Memory soft limit"),
             Flag.swap_bytes("memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable "
                             "unlimited swap"),
             Flag.string("name", "", "Assign a name to the container"),
             Flag.bool("no-healthcheck", "", "Disable any container-specified HEALTHCHECK"),
             Flag.bool("oom-kill-disable", "", "Disable OOM Killer"),
             Flag.int("oom-score-adj", "", "Tune host's OOM preferences (-1000 to 1000)"),
             Flag.string("pid", "", "PID namespace to use"),
             Flag.int("pids-limit", "", "Tune container pids limit (set -1 for unlimited)"),
             Flag.bool("privileged", "", "Give extended privileges to this container"),
             Flag.string("pull", "", 'Pull image before running ("always", "missing", "never")', default="missing"),
             Flag.bool("read-only", "", "Mount the container's root filesystem as read only"),
             Flag.string("restart", "", "Restart policy to apply when a container exits", default="no"),
             Flag.bool("rm", "", "Automatically remove the container and its associated anonymous volumes "
                       "when it exits"),
             Flag.string("runtime", "", "Runtime to use for this container"),
             Flag.list("security-opt", "", "Security Options"),
             Flag.bytes("shm-size", "", "Size of /dev/shm"),
             Flag.string("stop-signal", "", "Signal to stop the container"),
             Flag.int("stop-timeout", "", "Timeout (in seconds) to stop a container"),
             Flag.map("sysctl", "", "Sysctl options", convert=kinds.validate_sysctl, show_default=True),
             Flag.bool("tty", "t", "Allocate a pseudo-TTY"),
             Flag.ulimit("ulimit", "", "Ulimit options", show_default=True),
             Flag.string("user", "u", "Username or UID (format: <name|uid>[:<group|gid>])"),
             Flag.string("uts", "", "UTS namespace to use"),
             Flag.string("workdir", "w", "Working directory inside the container")]
    # networks (issue 6): hakobune.createbody.netopts puts them into the create body
    flags += [Flag.list("add-host", "", "Add a custom host-to-IP mapping (host:ip)"),
              Flag.list("dns", "", "Set custom DNS servers"),
              Flag.list("dns-option", "", "Set DNS options"),
              Flag.list("dns-search", "", "Set custom DNS search domains"),
              Flag.list("expose", "", "Expose a port or a range of ports"),
              Flag.string("ip", "", "IPv4 address (e.g., 172.30.100.104)"),
              Flag.string("ip6", "", "IPv6 address (e.g., 2001:db8::33)"),
              Flag.string("mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
              Flag.list("network", "", "Connect a container to a network", metavar="network"),
              Flag.alias("net", "network"),
              Flag.list("network-alias", "", "Add network-scoped alias for the container"),
              Flag.alias("net-alias", "network-alias"),
              Flag.list("publish", "p", "Publish a container's port(s) to the host"),
              Flag.bool("publish-all", "P", "Publish all exposed ports to random ports")]
    from hakobune.cli.volumes import run_mount_flags  # volumes (issue 5): -v, --mount, --tmpfs, --volumes-from

    flags += run_mount_flags()
    if run:
        flags.append(Flag.bool("detach", "d", "Run container in background and print container ID"))
        flags.append(Flag.string("detach-keys", "", "Override the key sequence for detaching a container"))
    return flags


def _update_flags():
    """`update`'s flags (hakobune.cli.update turns them into Docker's UpdateConfig)."""
    from hakobune.cli.args import Flag

    return [Flag.int("cpu-period", "", "Limit CPU CFS (Completely Fair Scheduler) period"),
            Flag.int("cpu-quota", "", "Limit CPU CFS (Completely Fair Scheduler) quota"),
            Flag.int("cpu-shares", "c", "CPU shares (relative weight)"),
            Flag.cpus("cpus", "", "Number of CPUs"),
            Flag.string("cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)"),
            Flag.string("cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)"),
            Flag.bytes("memory", "m", "Memory limit"),
            Flag.bytes("memory-reservation", "", "Memory soft limit"),
            Flag.swap_bytes("memory-swap", "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
            Flag.int("pids-limit", "", "Tune container pids limit (set -1 for unlimited)"),
            Flag.string("restart", "", "Restart policy to apply when a container exits")]


def _container_commands(add):
    """The container commands, added through `add(command)` (the root and `container` both)."""
    from hakobune.cli.args import Command, Flag, exact_args, min_args

    add(Command("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
                args=min_args(1), interspersed=False, run="hakobune.cli.containers:run", flags=_run_flags(True)))
    add(Command("create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", args=min_args(1),
                interspersed=False, run="hakobune.cli.containers:create", flags=_run_flags(False)))
    add(Command("start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
                args=min_args(1), run="hakobune.cli.containers:start",
                flags=[Flag.bool("attach", "a", "Attach STDOUT/STDERR and forward signals"),
                       Flag.string("detach-keys", "", "Override the key sequence for detaching a container"),
                       Flag.bool("interactive", "i", "Attach container's STDIN")]))
    add(Command("stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
                args=min_args(1), run="hakobune.cli.containers:stop", flags=_stop_flags()))
    add(Command("restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
                args=min_args(1), run="hakobune.cli.containers:restart", flags=_stop_flags()))
    add(Command("kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
                args=min_args(1), run="hakobune.cli.containers:kill",
                flags=[Flag.string("signal", "s", "Signal to send to the container")]))
    add(Command("pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
                args=min_args(1), run="hakobune.cli.containers:pause"))
    add(Command("unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
                args=min_args(1), run="hakobune.cli.containers:unpause"))
    add(Command("wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their "
                "exit codes", args=min_args(1), run="hakobune.cli.containers:wait"))
    add(Command("rename CONTAINER NEW_NAME", "Rename a container", args=exact_args(2),
                run="hakobune.cli.containers:rename"))
    add(Command("attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a "
                "running container", args=exact_args(1), run="hakobune.cli.containers:attach",
                flags=[Flag.string("detach-keys", "", "Override the key sequence for detaching a container"),
                       Flag.bool("no-stdin", "", "Do not attach STDIN"),
                       Flag.bool("sig-proxy", "", "Proxy all received signals to the process", default=True)]))
    add(Command("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", aliases=("remove",),
                args=min_args(1), run="hakobune.cli.containers:rm",
                flags=[Flag.bool("force", "f", "Force the removal of a running container (uses SIGKILL)"),
                       Flag.bool("volumes", "v", "Remove anonymous volumes associated with the container")]))
    add(Command("logs [OPTIONS] CONTAINER", "Fetch the logs of a container", args=exact_args(1),
                run="hakobune.cli.containers:logs",
                flags=[Flag.bool("details", "", "Show extra details provided to logs"),
                       Flag.bool("follow", "f", "Follow log output"),
                       Flag.string("since", "", 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or '
                                   'relative (e.g. "42m" for 42 minutes)'),
                       Flag.string("tail", "n", 'Number of lines to show from the end of the logs', default="all"),
                       Flag.bool("timestamps", "t", "Show timestamps"),
                       Flag.string("until", "", 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or '
                                   'relative (e.g. "42m" for 42 minutes)')]))
    add(Command("update [OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
                args=min_args(1), run="hakobune.cli.update:update", flags=_update_flags()))
    _process_commands(add)
    _filesystem_commands(add)
    add(_port_command())  # networks (issue 6)


def _stop_flags():
    from hakobune.cli.args import Flag

    return [Flag.string("signal", "s", "Signal to send to the container"),
            Flag.int("timeout", "t", "Seconds to wait before killing the container"),
            Flag.int("time", "", "Seconds to wait before killing the container (deprecated: use --timeout)",
                     deprecated="use --timeout instead")]


def _process_commands(add):
    """exec, top, stats: the container's processes (hakobune.cli.processes)."""
    from hakobune.cli.args import Command, Flag, kinds, min_args

    add(Command("exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container",
                args=min_args(2), interspersed=False, run="hakobune.cli.processes:exec_",
                flags=[Flag.bool("detach", "d", "Detached mode: run command in the background"),
                       Flag.string("detach-keys", "", "Override the key sequence for detaching a container"),
                       Flag.list("env", "e", "Set environment variables", convert=kinds.validate_env),
                       Flag.list("env-file", "", "Read in a file of environment variables"),
                       Flag.bool("interactive", "i", "Keep STDIN open even if not attached"),
                       Flag.bool("privileged", "", "Give extended privileges to the command"),
                       Flag.bool("tty", "t", "Allocate a pseudo-TTY"),
                       Flag.string("user", "u", 'Username or UID (format: "<name|uid>[:<group|gid>]")'),
                       Flag.string("workdir", "w", "Working directory inside the container")]))
    add(Command("top CONTAINER [ps OPTIONS]", "Display the running processes of a container", args=min_args(1),
                interspersed=False, run="hakobune.cli.processes:top"))
    add(Command("stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
                run="hakobune.cli.processes:stats",
                flags=[Flag.bool("all", "a", "Show all containers (default shows just running)"),
                       Flag.string("format", "", FORMAT_HELP),
                       Flag.bool("no-stream", "", "Disable streaming stats and only pull the first result"),
                       Flag.bool("no-trunc", "", "Do not truncate output")]))


def _filesystem_commands(add):
    """diff, commit, cp, export: the container's filesystem (hakobune.cli.filesystem)."""
    from hakobune.cli.args import Command, Flag, exact_args, range_args

    add(Command("commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
                args=range_args(1, 2), run="hakobune.cli.filesystem:commit",
                flags=[Flag.string("author", "a", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
                       Flag.list("change", "c", "Apply Dockerfile instruction to the created image"),
                       Flag.string("message", "m", "Commit message"),
                       Flag.bool("pause", "p", "Pause container during commit", default=True)]))
    add(Command("cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
                "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read "
                "a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as "
                "the destination to stream a tar archive of a\ncontainer source to stdout.",
                args=exact_args(2), run="hakobune.cli.filesystem:cp",
                flags=[Flag.bool("archive", "a", "Archive mode (copy all uid/gid information)"),
                       Flag.bool("follow-link", "L", "Always follow symbol link in SRC_PATH"),
                       Flag.bool("quiet", "q", "Suppress progress output during copy. Progress output is "
                                 "automatically suppressed if no terminal is attached")]))
    add(Command("diff CONTAINER", "Inspect changes to files or directories on a container's filesystem",
                args=exact_args(1), run="hakobune.cli.filesystem:diff"))
    add(Command("export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
                args=exact_args(1), run="hakobune.cli.filesystem:export",
                flags=[Flag.string("output", "o", "Write to a file, instead of STDOUT")]))


def build_root():
    from hakobune.cli.args import Command, Flag, make_root, max_args, min_args, no_args

    root = make_root()

    image = root.add(Command("image", "Manage images"))
    image.add(_images_command("ls [OPTIONS] [REPOSITORY[:TAG]]", aliases=("list",)))
    image.add(_history_command())
    image.add(_import_command())
    image.add(Command("inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
                      args=min_args(1), run="hakobune.cli.images:image_inspect",
                      flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP),
                             Flag.string("platform", "", "Inspect a specific platform of the multi-platform "
                                         'image.\nIf the image or the server is not multi-platform capable, '
                                         'the command will error out if the platform does not match.\n'
                                         '\'os[/arch[/variant]]\': Explicit platform (eg. "linux/amd64")')]))
    image.add(_load_command())
    image.add(Command("prune [OPTIONS]", "Remove unused images", args=no_args, run="hakobune.cli.images:prune",
                      flags=[Flag.bool("all", "a", "Remove all unused images, not just dangling ones"),
                             Flag.filter("filter", "", 'Provide filter values (e.g. "until=<timestamp>")'),
                             Flag.bool("force", "f", "Do not prompt for confirmation")]))
    image.add(_pull_command("pull [OPTIONS] NAME[:TAG|@DIGEST]"))
    image.add(_push_command("push [OPTIONS] NAME[:TAG]"))
    image.add(_rmi_command("rm [OPTIONS] IMAGE [IMAGE...]", aliases=("remove",)))
    image.add(_save_command())
    image.add(_tag_command())

    container = root.add(Command("container", "Manage containers"))
    _container_commands(container.add)
    container.add(_ps_command("ls [OPTIONS]", aliases=("ps", "list")))
    container.add(Command("prune [OPTIONS]", "Remove all stopped containers", args=no_args,
                          run="hakobune.cli.containers:prune",
                          flags=[Flag.filter("filter", "", 'Provide filter values (e.g. "until=<timestamp>")'),
                                 Flag.bool("force", "f", "Do not prompt for confirmation")]))
    container.add(Command("inspect [OPTIONS] CONTAINER [CONTAINER...]",
                          "Display detailed information on one or more containers", args=min_args(1),
                          run="hakobune.cli.containers:container_inspect",
                          flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP),
                                 Flag.bool("size", "s", "Display total file sizes")]))
    _container_commands(root.add)
    root.add(_ps_command("ps [OPTIONS]"))

    root.add(_images_command("images [OPTIONS] [REPOSITORY[:TAG]]"))
    root.add(_history_command())
    root.add(_import_command())
    root.add(Command("inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Docker objects",
                     args=min_args(1), run="hakobune.cli.images:inspect",
                     flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP),
                            Flag.bool("size", "s", "Display total file sizes if the type is container"),
                            Flag.string("type", "", "Only inspect objects of the given type")]))
    root.add(_load_command())
    root.add(Command("login [OPTIONS] [SERVER]", "Authenticate to a registry.\nDefaults to Docker Hub if no server "
                     "is specified.", args=max_args(1), run="hakobune.cli.registry:login",
                     flags=[Flag.string("password", "p", "Password or Personal Access Token (PAT)"),
                            Flag.bool("password-stdin", "", "Take the Password or Personal Access Token (PAT) "
                                      "from stdin"),
                            Flag.string("username", "u", "Username")]))
    root.add(Command("logout [SERVER]", "Log out from a registry.\nIf no server is specified, the default is "
                     "defined by the daemon.", args=max_args(1), run="hakobune.cli.registry:logout"))
    root.add(_pull_command("pull [OPTIONS] NAME[:TAG|@DIGEST]"))
    root.add(_push_command("push [OPTIONS] NAME[:TAG]"))
    root.add(_rmi_command("rmi [OPTIONS] IMAGE [IMAGE...]"))
    root.add(_save_command())
    root.add(_tag_command())

    _volume_commands(root)
    _network_commands(root)
    _server_commands(root)
    _build_commands(root)
    _compose_commands(root)

    system = root.add(Command("system", "Manage Docker"))
    system.add(Command("check", "Verify the image store: every blob against its digest, every image's "
                       "config and layers present (removes what interrupted operations left)", args=no_args,
                       run="hakobune.cli.registry:check"))
    system.add(Command("df [OPTIONS]", "Show docker disk usage", args=no_args, run="hakobune.cli.system:df",
                       flags=[Flag.string("format", "", FORMAT_HELP),
                              Flag.bool("verbose", "v", "Show detailed information on space usage")]))
    system.add(Command("info [OPTIONS]", "Display system-wide information", args=no_args,
                       run="hakobune.cli.system:info",
                       flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP)]))
    system.add(_events_command())
    system.add(Command("prune [OPTIONS]", "Remove unused data", args=no_args, run="hakobune.cli.system:prune",
                       flags=[Flag.bool("all", "a", "Remove all unused images not just dangling ones"),
                              Flag.filter("filter", "", 'Provide filter values (e.g. "label=<key>=<value>")'),
                              Flag.bool("force", "f", "Do not prompt for confirmation"),
                              Flag.bool("volumes", "", "Prune anonymous volumes")]))
    system.add(Command("restore", "Start the containers whose restart policy is always or unless-stopped and "
                       "that were not stopped by the user (after a reboot; for a systemd unit or a boot script)",
                       args=no_args, run="hakobune.cli.system:restore"))
    root.add(_events_command())
    root.add(Command("info [OPTIONS]", "Display system-wide information", args=no_args,
                     run="hakobune.cli.system:info",
                     flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP)]))
    root.add(Command("version [OPTIONS]", "Show the Docker version information", args=no_args,
                     run="hakobune.cli.system:version",
                     flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP)]))
    return root


def _events_command():
    from hakobune.cli.args import Command, Flag, no_args

    return Command("events [OPTIONS]", "Get real time events from the server", args=no_args,
                   run="hakobune.cli.system:events",
                   flags=[Flag.filter("filter", "f", "Filter output based on conditions provided"),
                          Flag.string("format", "", "Format output using a custom template:\n"
                                      "'json':             Print in JSON format\n"
                                      "'TEMPLATE':         Print output using the given Go template.\n"
                                      "Refer to https://docs.docker.com/go/formatting/ for more information "
                                      "about formatting output with templates"),
                          Flag.string("since", "", "Show all events created since timestamp"),
                          Flag.string("until", "", "Stream events until this timestamp")])


def _volume_commands(root):
    """volume create|ls|inspect|rm|prune (hakobune.cli.volumes)."""
    from hakobune.cli.args import Command, Flag, max_args, min_args, no_args

    volume = root.add(Command("volume COMMAND", "Manage volumes"))
    volume.add(Command("create [OPTIONS] [VOLUME]", "Create a volume", args=max_args(1),
                       run="hakobune.cli.volumes:create",
                       flags=[Flag.string("driver", "d", "Specify volume driver name", default="local"),
                              Flag.list("label", "", "Set metadata for a volume"),
                              Flag.string("name", "", "Specify volume name", hidden=True),
                              Flag.map("opt", "o", "Set driver specific options")]))
    volume.add(Command("inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more "
                       "volumes", args=min_args(1), run="hakobune.cli.volumes:inspect",
                       flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP)]))
    volume.add(Command("ls [OPTIONS]", "List volumes", aliases=("list",), args=no_args,
                       run="hakobune.cli.volumes:ls",
                       flags=[Flag.filter("filter", "f", "Provide filter values (e.g. \"dangling=true\")"),
                              Flag.string("format", "", FORMAT_HELP),
                              Flag.bool("quiet", "q", "Only display volume names")]))
    volume.add(Command("prune [OPTIONS]", "Remove unused local volumes", args=no_args,
                       run="hakobune.cli.volumes:prune",
                       flags=[Flag.bool("all", "a", "Remove all unused volumes, not just anonymous ones"),
                              Flag.filter("filter", "", 'Provide filter values (e.g. "label=<label>")'),
                              Flag.bool("force", "f", "Do not prompt for confirmation")]))
    volume.add(Command("rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
                       long="Remove one or more volumes. You cannot remove a volume that is in use by a container.",
                       aliases=("remove",),
                       args=min_args(1), run="hakobune.cli.volumes:rm",
                       flags=[Flag.bool("force", "f", "Force the removal of one or more volumes")]))


def _server_commands(root):
    """serve: the Docker Engine API on a unix socket (hakobune.cli.serve)."""
    from hakobune.cli.args import Command, Flag, no_args

    root.add(Command("serve [OPTIONS]", "Serve the Docker Engine API (as dockerd) on a unix socket or TCP",
                     args=no_args, run="hakobune.cli.serve:serve",
                     flags=[Flag.list("host", "H", "Daemon socket(s) to listen on (unix:///run/hakobune/"
                                      "hakobune.sock by default; tcp://127.0.0.1:2375)"),
                            Flag.string("group", "G", "Group for the unix socket (default: root only)"),
                            Flag.bool("tls", "", "Use TLS; implied by --tlsverify"),
                            Flag.bool("tlsverify", "", "Use TLS and verify the remote (mutual TLS)"),
                            Flag.string("tlscacert", "", "Trust certs signed only by this CA"),
                            Flag.string("tlscert", "", "Path to TLS certificate file"),
                            Flag.string("tlskey", "", "Path to TLS key file")]))


def _build_commands(root):
    """build and image build: a Dockerfile into an image (hakobune.cli.build)."""
    from hakobune.cli.build import build_command, builder_command

    command = root.add(build_command())
    root.add(builder_command())
    image = root.find("image")
    if image is not None:
        image.command.add(command)


def _compose_commands(root):
    """compose up|down|ps|logs|exec|run|... (hakobune.cli.compose; PyYAML only when one runs)."""
    from hakobune.cli.compose import compose_command

    root.add(compose_command())


def _network_commands(root):
    """network create|ls|inspect|connect|disconnect|rm|prune (hakobune.cli.networks)."""
    from hakobune.cli.args import Command, Flag, exact_args, kinds, min_args, no_args

    network = root.add(Command("network", "Manage networks"))
    network.add(Command("create [OPTIONS] NETWORK", "Create a network", args=exact_args(1),
                        run="hakobune.cli.networks:create",
                        flags=[Flag.bool("attachable", "", "Enable manual container attachment"),
                               Flag.string("driver", "d", "Driver to manage the Network", default="bridge"),
                               Flag.string_slice("gateway", "", "IPv4 or IPv6 Gateway for the master subnet"),
                               Flag.bool("internal", "", "Restrict external access to the network"),
                               Flag.string_slice("ip-range", "", "Allocate container ip from a sub-range"),
                               Flag.string("ipam-driver", "", "IP Address Management Driver", default="default"),
                               Flag.bool("ipv6", "", "Enable or disable IPv6 networking"),
                               Flag.list("label", "", "Set metadata on a network", convert=kinds.validate_label),
                               Flag.map("opt", "o", "Set driver specific options"),
                               Flag.string("scope", "", "Control the network's scope"),
                               Flag.string_slice("subnet", "", "Subnet in CIDR format that represents a network "
                                                 "segment")]))
    network.add(Command("inspect [OPTIONS] NETWORK [NETWORK...]",
                        "Display detailed information on one or more networks", args=min_args(1),
                        run="hakobune.cli.networks:inspect",
                        flags=[Flag.string("format", "f", INSPECT_FORMAT_HELP),
                               Flag.bool("verbose", "v", "Verbose output for diagnostics")]))
    network.add(Command("ls [OPTIONS]", "List networks", aliases=("list",), args=no_args,
                        run="hakobune.cli.networks:ls",
                        flags=[Flag.filter("filter", "f", 'Provide filter values (e.g. "driver=bridge")'),
                               Flag.string("format", "", FORMAT_HELP),
                               Flag.bool("no-trunc", "", "Do not truncate the output"),
                               Flag.bool("quiet", "q", "Only display network IDs")]))
    network.add(Command("prune [OPTIONS]", "Remove all unused networks", args=no_args,
                        run="hakobune.cli.networks:prune",
                        flags=[Flag.filter("filter", "", 'Provide filter values (e.g. "until=<timestamp>")'),
                               Flag.bool("force", "f", "Do not prompt for confirmation")]))
    network.add(Command("rm NETWORK [NETWORK...]", "Remove one or more networks", aliases=("remove",),
                        args=min_args(1), run="hakobune.cli.networks:rm",
                        flags=[Flag.bool("force", "f", "Do not error if the network does not exist")]))
    network.add(Command("connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
                        args=exact_args(2), run="hakobune.cli.networks:connect",
                        flags=[Flag.list("alias", "", "Add network-scoped alias for the container"),
                               Flag.string("ip", "", "IPv4 address (e.g., \"172.30.100.104\")"),
                               Flag.string("ip6", "", "IPv6 address (e.g., \"2001:db8::33\")")]))
    network.add(Command("disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
                        args=exact_args(2), run="hakobune.cli.networks:disconnect",
                        flags=[Flag.bool("force", "f", "Force the container to disconnect from a network")]))


def _port_command():
    """`port`: a container's published ports (hakobune.cli.networks)."""
    from hakobune.cli.args import Command, range_args

    return Command("port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the "
                   "container", args=range_args(1, 2), run="hakobune.cli.networks:port")


# --- errors: the one table ------------------------------------------------------------

def _error_table():
    """(error class, exit status or None for the error's own, message prefix), first match wins.
    The parser's usage errors carry docker's status (125 for flags, 1 else); template
    and CLI errors are the client's own; the engine's kinds are what docker prints as
    the daemon's answers."""
    from hakobune.cli.args import UsageError
    from hakobune.cli.template import TemplateError
    from hakobune.errors import (AlreadyExists, Conflict, HakobuneError, InvalidArgument, NotFound, SystemFailure,
                                 Unauthorized)

    from hakobune.client.errors import ClientError  # no imports of its own

    daemon = "Error response from daemon: "
    return (
        (UsageError, None, ""),
        (TemplateError, 1, ""),
        (CLIError, None, ""),
        (ClientError, None, ""),
        (Unauthorized, 1, daemon),
        (NotFound, 1, daemon),
        (InvalidArgument, 1, daemon),
        (AlreadyExists, 1, daemon),
        (Conflict, 1, daemon),
        (SystemFailure, 1, daemon),
        (HakobuneError, 1, daemon),
    )


def report_error(error: BaseException, stderr=None) -> int | None:
    """Print `error` as docker does and give the exit status; None if it is no known kind."""
    stderr = stderr or sys.stderr
    for kind, status, prefix in _error_table():
        if isinstance(error, kind):
            message = str(error)
            if status is None:
                status = getattr(error, "exit_code", None) or getattr(error, "status", 1)
            if message:
                stderr.write(f"{prefix}{message}\n")
            return status
    return None


def main(argv: list[str] | None = None) -> int:
    from hakobune.cli.args import execute

    argv = sys.argv[1:] if argv is None else argv
    try:
        return execute(build_root(), argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 1
    except Exception as e:  # noqa: BLE001 - mapped below, or re-raised
        try:
            sys.stdout.flush()
        except OSError:
            pass
        status = report_error(e)
        if status is None:
            raise
        return status


if __name__ == "__main__":
    sys.exit(main())
