"""`hakobune compose`'s command tree: Docker Compose v2's commands and flags.
Kept small, since every command line builds the tree; the handlers are in
hakobune.cli.compose_handlers, imported only when a compose command runs."""


# --- the command tree -------------------------------------------------------------------------------

def compose_command():
    from hakobune.cli.args import Command, Flag, exact_args, min_args, no_args

    def services(use, short, run, flags=(), args=None, **kw):
        return Command(use, short, run=f"hakobune.cli.compose_handlers:{run}", flags=list(flags), args=args, **kw)

    timeout = Flag.int("timeout", "t", "Specify a shutdown timeout in seconds", default=-1)
    compose = Command("compose", "Docker Compose", flags=[
        Flag.list("file", "f", "Compose configuration files", persistent=True),
        Flag.string("project-name", "p", "Project name", persistent=True),
        Flag.list("profile", "", "Specify a profile to enable", persistent=True),
        Flag.list("env-file", "", "Specify an alternate environment file", persistent=True),
        Flag.string("project-directory", "", "Specify an alternate working directory\n(default: the path of the, "
                    "first specified, Compose file)", persistent=True),
        Flag.string("ansi", "", 'Control when to print ANSI control characters ("never"|"always"|"auto")',
                    default="auto", persistent=True),
        Flag.string("progress", "", "Set type of progress output (auto, tty, plain, json, quiet)",
                    persistent=True)])
    compose.add(services("up [OPTIONS] [SERVICE...]", "Create and start containers", "up", [
        Flag.bool("detach", "d", "Detached mode: Run containers in the background"),
        Flag.bool("build", "", "Build images before starting containers"),
        Flag.bool("no-build", "", "Don't build an image, even if it's policy"),
        Flag.bool("force-recreate", "", "Recreate containers even if their configuration and image haven't "
                  "changed"),
        Flag.bool("no-recreate", "", "If containers already exist, don't recreate them"),
        Flag.bool("renew-anon-volumes", "V", "Recreate anonymous volumes instead of retrieving data from the "
                  "previous containers"),
        Flag.bool("no-deps", "", "Don't start linked services"),
        Flag.bool("no-start", "", "Don't start the services after creating them"),
        Flag.bool("remove-orphans", "", "Remove containers for services not defined in the Compose file"),
        Flag.list("scale", "", "Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file "
                  "if present."),
        Flag.bool("wait", "", "Wait for services to be running|healthy. Implies detached mode."),
        Flag.int("wait-timeout", "", "Maximum duration in seconds to wait for the project to be running|healthy"),
        Flag.bool("abort-on-container-exit", "", "Stops all containers if any container was stopped. "
                  "Incompatible with -d"),
        Flag.string("exit-code-from", "", "Return the exit code of the selected service container. Implies "
                    "--abort-on-container-exit"),
        Flag.string("pull", "", 'Pull image before running ("always"|"missing"|"never")', default="missing"),
        Flag.bool("no-color", "", "Produce monochrome output"),
        Flag.bool("no-log-prefix", "", "Don't print prefix in logs"),
        Flag.bool("quiet-pull", "", "Pull without printing progress information"), timeout]))
    compose.add(services("down [OPTIONS] [SERVICES]", "Stop and remove containers, networks", "down", [
        Flag.bool("volumes", "v", "Remove named volumes declared in the \"volumes\" section of the Compose file "
                  "and anonymous volumes attached to containers"),
        Flag.string("rmi", "", 'Remove images used by services. "local" remove only images that don\'t have a '
                    'custom tag ("local"|"all")'),
        Flag.bool("remove-orphans", "", "Remove containers for services not defined in the Compose file"),
        timeout]))
    compose.add(services("ps [OPTIONS] [SERVICE...]", "List containers", "ps", [
        Flag.bool("all", "a", "Show all stopped containers (including those created by the run command)"),
        Flag.bool("quiet", "q", "Only display IDs"), Flag.bool("services", "", "Display services"),
        Flag.string("format", "", "Format output using a custom template"),
        Flag.bool("no-trunc", "", "Don't truncate output")]))
    compose.add(services("logs [OPTIONS] [SERVICE...]", "View output from containers", "logs", [
        Flag.bool("follow", "f", "Follow log output"), Flag.string("tail", "n", "Number of lines to show from the "
                                                                       "end of the logs for each container",
                                                                       default="all"),
        Flag.bool("timestamps", "t", "Show timestamps"), Flag.bool("no-color", "", "Produce monochrome output"),
        Flag.bool("no-log-prefix", "", "Don't print prefix in logs")]))
    exec_flags = [Flag.bool("detach", "d", "Detached mode: Run command in the background"),
                  Flag.list("env", "e", "Set environment variables"),
                  Flag.bool("no-TTY", "T", "Disable pseudo-TTY allocation. By default `docker compose exec` "
                            "allocates a TTY."),
                  Flag.string("user", "u", "Run the command as this user"),
                  Flag.string("workdir", "w", "Path to workdir directory for this command"),
                  Flag.bool("privileged", "", "Give extended privileges to the process"),
                  Flag.bool("interactive", "i", "Keep STDIN open even if not attached", default=True)]
    compose.add(services("exec [OPTIONS] SERVICE COMMAND [ARGS...]", "Execute a command in a running container",
                         "exec_", exec_flags + [Flag.int("index", "", "Index of the container if service has "
                                                         "multiple replicas", default=0)],
                         args=min_args(2), interspersed=False))
    compose.add(services("run [OPTIONS] SERVICE [COMMAND] [ARGS...]", "Run a one-off command on a service", "run",
                         exec_flags + [Flag.bool("rm", "", "Automatically remove the container when it exits"),
                                       Flag.string("name", "", "Assign a name to the container"),
                                       Flag.string("entrypoint", "", "Override the entrypoint of the image"),
                                       Flag.bool("no-deps", "", "Don't start linked services"),
                                       Flag.bool("service-ports", "", "Run command with all service's ports "
                                                 "enabled and mapped to the host")],
                         args=min_args(1), interspersed=False))
    compose.add(services("start [SERVICE...]", "Start services", "start"))
    compose.add(services("stop [OPTIONS] [SERVICE...]", "Stop services", "stop", [timeout]))
    compose.add(services("restart [OPTIONS] [SERVICE...]", "Restart service containers", "restart", [timeout]))
    compose.add(services("kill [OPTIONS] [SERVICE...]", "Force stop service containers", "kill", [
        Flag.string("signal", "s", "SIGNAL to send to the container", default="SIGKILL"),
        Flag.bool("remove-orphans", "", "Remove containers for services not defined in the Compose file")]))
    compose.add(services("rm [OPTIONS] [SERVICE...]", "Removes stopped service containers", "rm", [
        Flag.bool("force", "f", "Don't ask to confirm removal"),
        Flag.bool("stop", "s", "Stop the containers, if required, before removing"),
        Flag.bool("volumes", "v", "Remove any anonymous volumes attached to containers")]))
    compose.add(services("pull [OPTIONS] [SERVICE...]", "Pull service images", "pull", [
        Flag.bool("ignore-pull-failures", "", "Pull what it can and ignores images with pull failures"),
        Flag.bool("quiet", "q", "Pull without printing progress information")]))
    compose.add(services("push [OPTIONS] [SERVICE...]", "Push service images", "push", [
        Flag.bool("ignore-push-failures", "", "Push what it can and ignores images with push failures"),
        Flag.bool("quiet", "q", "Push without printing progress information")]))
    compose.add(services("version [OPTIONS]", "Show the Docker Compose version information", "version",
                         [Flag.bool("short", "", "Shows only Compose's version number")], args=no_args))
    compose.add(services("build [OPTIONS] [SERVICE...]", "Build or rebuild services", "build", [
        Flag.bool("no-cache", "", "Do not use cache when building the image"),
        Flag.bool("pull", "", "Always attempt to pull a newer version of the image"),
        Flag.bool("quiet", "q", "Don't print anything to STDOUT")]))
    compose.add(services("config [OPTIONS] [SERVICE...]", "Parse, resolve and render compose file in canonical "
                         "format", "config", [
                             Flag.bool("services", "", "Print the service names, one per line."),
                             Flag.bool("volumes", "", "Print the volume names, one per line."),
                             Flag.bool("quiet", "q", "Only validate the configuration, don't print anything."),
                             Flag.string("output", "o", "Save to file (default to stdout)")],
                         aliases=("convert",)))
    compose.add(services("top [SERVICES...]", "Display the running processes", "top"))
    compose.add(services("port [OPTIONS] SERVICE PRIVATE_PORT", "Print the public port for a port binding", "port",
                         [Flag.string("protocol", "", "tcp or udp", default="tcp"),
                          Flag.int("index", "", "Index of the container if service has multiple replicas",
                                   default=0)], args=exact_args(2)))
    compose.add(services("images [OPTIONS] [SERVICE...]", "List images used by the created containers", "images",
                         [Flag.bool("quiet", "q", "Only display IDs")]))
    compose.add(services("ls [OPTIONS]", "List running compose projects", "ls", [
        Flag.bool("all", "a", "Show all stopped Compose projects"), Flag.bool("quiet", "q", "Only display IDs"),
        Flag.string("format", "", 'Format the output. Values: [table | json]', default="table")], args=no_args))
    return compose
