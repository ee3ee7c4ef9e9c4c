"""The root command: docker's global options, and hakobune's --root/--runroot.

    hakobune [OPTIONS] COMMAND [ARG...]

Global options come before the command only (`hakobune ps --debug` is an
unknown flag, as with docker).  `-h` still works everywhere, with docker's
notice that the shorthand is deprecated.
"""

import os

from .command import Command, UsageError
from .flags import Flag

DEFAULT_ROOT = "/var/lib/hakobune"
DEFAULT_RUNROOT = "/run/hakobune"

LOG_LEVELS = ("panic", "fatal", "error", "warn", "warning", "info", "debug", "trace")


def check_log_level(opts) -> None:
    """docker checks --log-level before anything else runs (logrus's names)."""
    if opts.log_level.lower() not in LOG_LEVELS:
        raise UsageError(f"Unable to parse logging level: {opts.log_level}")


def global_flags(name: str = "hakobune") -> list:
    """docker's global flags (same names, defaults and help texts)."""
    env = os.environ
    config = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    certs = env.get("DOCKER_CERT_PATH") or config
    return [
        Flag.string("config", "", "Location of client config files", default=config),
        Flag.string("context", "c",
                    "Name of the context to use to connect to the daemon (overrides "
                    "DOCKER_HOST env var and default context set with "
                    f'"{name} context use")'),
        Flag.bool("debug", "D", "Enable debug mode"),
        Flag.list("host", "H", "Daemon socket to connect to"),
        Flag.string("log-level", "l",
                    'Set the logging level ("debug", "info", "warn", "error", "fatal")',
                    default="info"),
        Flag.bool("tls", "", "Use TLS; implied by --tlsverify"),
        Flag.string("tlscacert", "", "Trust certs signed only by this CA",
                    default=os.path.join(certs, "ca.pem")),
        Flag.string("tlscert", "", "Path to TLS certificate file",
                    default=os.path.join(certs, "cert.pem")),
        Flag.string("tlskey", "", "Path to TLS key file", default=os.path.join(certs, "key.pem")),
        Flag.bool("tlsverify", "", "Use TLS and verify the remote",
                  default=env.get("DOCKER_TLS_VERIFY", "") != ""),
        Flag.bool("version", "v", "Print version information and quit"),
        Flag.help("h", persistent=True, hidden=True, short_deprecated="use --help"),
    ]


def hakobune_flags() -> list:
    """hakobune's own: where its state lives (as Podman takes them)."""
    env = os.environ
    return [
        Flag.string("root", "", "Root directory of persistent state (env HAKOBUNE_ROOT)",
                    default=env.get("HAKOBUNE_ROOT", DEFAULT_ROOT)),
        Flag.string("runroot", "", "Root directory of volatile state (env HAKOBUNE_RUNROOT)",
                    default=env.get("HAKOBUNE_RUNROOT", DEFAULT_RUNROOT)),
    ]


def make_root(name="hakobune", short="A self-sufficient runtime for containers", *,
              version=None, footer="", commands=(), extra_flags=None) -> Command:
    """The root command; add the commands with `root.add(...)`.

    `version` is the text (or a callable giving it) that `--version` prints;
    `extra_flags` defaults to hakobune's --root/--runroot (pass () for none).
    """
    if version is None:
        def version():
            from hakobune import __version__

            return f"{name} version {__version__}"
    flags = global_flags(name) + list(hakobune_flags() if extra_flags is None else extra_flags)
    return Command(f"{name} [OPTIONS] COMMAND [ARG...]", short, flags=flags,
                   hook=check_log_level, footer=footer, version=version, commands=commands)
