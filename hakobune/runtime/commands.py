"""What each `hakobune-runtime` verb does with its parsed arguments."""

import os
import sys

from hakobune.errors import AlreadyExists, InvalidArgument
from hakobune.runtime import container as C


def dispatch(command: str, glob: dict, args) -> int:
    root = glob.get("root") or C.DEFAULT_ROOT
    handler = _HANDLERS[command]
    return handler(root, args) or 0


def _one_id(args, command: str) -> str:
    if len(args.positional) != 1:
        raise InvalidArgument(f"{command}: expects exactly one container id")
    return args.positional[0]


def _create_options(args) -> C.CreateOptions:
    return C.CreateOptions(
        bundle=args.get("bundle", "."), pid_file=args.get("pid_file"),
        console_socket=args.get("console_socket"), preserve_fds=int(args.get("preserve_fds", 0)),
    )


def _create(root, args):
    C.create(root, _one_id(args, "create"), _create_options(args))


def _run(root, args):
    return C.run(root, _one_id(args, "run"), _create_options(args), detach=args.get("detach", False))


def _start(root, args):
    C.start(root, _one_id(args, "start"))


def _state(root, args):
    _print_json(C.oci_state(root, _one_id(args, "state")))


def _kill(root, args):
    if not 1 <= len(args.positional) <= 2:
        raise InvalidArgument("kill: expects a container id and an optional signal")
    signal = C.parse_signal(args.positional[1] if len(args.positional) == 2 else "SIGTERM")
    C.kill(root, args.positional[0], signal, all_processes=args.get("all", False))


def _delete(root, args):
    C.delete(root, _one_id(args, "delete"), force=args.get("force", False))


def _pause(root, args):
    C.pause(root, _one_id(args, "pause"))


def _resume(root, args):
    C.resume(root, _one_id(args, "resume"))


def _exec(root, args):
    from hakobune.runtime import execute

    if not args.positional:
        raise InvalidArgument("exec: expects a container id")
    return execute.exec_from_cli(root, args.positional[0], args.positional[1:], args.values)


def _ps(root, args):
    container_id = args.positional[0] if args.positional else _one_id(args, "ps")
    pids = C.processes(root, container_id)
    if args.get("format") == "json":
        _print_json(pids)
        return
    import subprocess

    listing = subprocess.run(["ps", "-ef", *args.positional[1:]], capture_output=True, text=True).stdout
    lines = listing.splitlines()
    print(lines[0])
    wanted = {str(p) for p in pids}
    for line in lines[1:]:
        if line.split()[1] in wanted:
            print(line)


def _list(root, args):
    from hakobune.runtime import state as St

    rows = []
    for container_id in St.list_ids(root):
        try:
            rows.append(C.oci_state(root, container_id))
        except Exception:  # noqa: BLE001 - a half-deleted container is skipped
            continue
    if args.get("quiet"):
        for row in rows:
            print(row["id"])
    elif args.get("format") == "json":
        _print_json([{"ociVersion": r["ociVersion"], "id": r["id"], "pid": r.get("pid", 0), "status": r["status"],
                      "bundle": r["bundle"], "rootfs": r["rootfs"], "created": r["created"], "owner": r["owner"]}
                     for r in rows])
    else:
        print(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER")
        for r in rows:
            print(f"{r['id']:<20}{r.get('pid', 0):<10}{r['status']:<10}{r['bundle']:<40}{r['created']:<32}{r['owner']}")


def _update(root, args):
    from hakobune.runtime.resources import resources_from_flags

    C.update(root, _one_id(args, "update"), resources_from_flags(args.values))


def _features(root, args):
    from hakobune.runtime.features import features

    _print_json(features())


def _spec(root, args):
    from hakobune.oci.defaults import default_spec

    path = os.path.join(args.get("bundle", "."), "config.json")
    if os.path.exists(path):
        raise AlreadyExists(f"File {path} exists. Remove it first")
    import json

    with open(path, "w") as f:
        json.dump(default_spec(rootless=args.get("rootless", False)), f, indent=2)
        f.write("\n")


def _version(root, args):
    from hakobune import __version__
    from hakobune.runtime.state import OCI_VERSION

    print(f"hakobune-runtime version {__version__}\nspec: {OCI_VERSION}")


def _help(root, args):
    print("usage: hakobune-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ID\n"
          "commands: " + ", ".join(sorted(_HANDLERS)))


def _print_json(value) -> None:
    import json

    sys.stdout.write(json.dumps(value, indent=2) + "\n")


_HANDLERS = {
    "create": _create, "run": _run, "start": _start, "state": _state, "kill": _kill, "delete": _delete,
    "pause": _pause, "resume": _resume, "exec": _exec, "ps": _ps, "list": _list, "update": _update,
    "features": _features, "spec": _spec, "version": _version, "help": _help,
}
