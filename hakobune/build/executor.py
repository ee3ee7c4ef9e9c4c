"""The Executor: what the builder asks of whoever runs its steps.

The builder never imports the engine or the runtime.  It describes a step's
root file system and a RUN step's process with the plain types here, and
the engine (hakobune.engine.building.BuildOperations) implements
`Executor`:

- `step_root(image_id)`: a context manager giving a `StepRoot`, the image's
  layers (none for ``scratch``) under a fresh, empty upper directory,
  mounted at `StepRoot.merged`; unmounted and removed on exit;
- `run(root, request, output)`: run `request` (a `RunRequest`) in that root,
  its output written to `output` (a callable taking text); returns the exit
  status;
- `write_layer(root, out)`: the tar of what changed in the root (an overlay
  diff, without what the executor itself put there), and `has_changes(root)`;
- `layer_directory(root)` (optional): end the root's mount and give
  (its upper directory, the relative paths its layer leaves out), for the
  layer store to adopt the files as they are (`LayerStore.adopt`); None
  when it cannot, and the builder asks `write_layer` instead;
- `resolve_user(root, user)`: ``user[:group]`` to (uid, gid), from the root's
  /etc/passwd and /etc/group, for COPY --chown;
- `pull(reference, platform)`: fetch an image that is not in the store.
"""

from __future__ import annotations


class StepRoot:
    """A step's root: `merged` is where it is mounted, `directory` the step's own."""

    __slots__ = ("directory", "merged", "upper", "image_id", "lower_dirs")

    def __init__(self, directory: str, merged: str, upper: str, image_id: str | None, lower_dirs: list[str]):
        self.directory = directory
        self.merged = merged
        self.upper = upper
        self.image_id = image_id
        self.lower_dirs = lower_dirs


class RunMount:
    """A RUN --mount: kind "bind" (a host `source`), "cache" (a persistent host
    `source` directory) or "tmpfs" (`size` bytes, 0 for the default)."""

    __slots__ = ("kind", "target", "source", "readonly", "size")

    def __init__(self, kind: str, target: str, source: str = "", readonly: bool = False, size: int = 0):
        self.kind = kind
        self.target = target
        self.source = source
        self.readonly = readonly
        self.size = size

    def __repr__(self) -> str:
        return f"RunMount({self.kind!r}, {self.target!r}, {self.source!r}, readonly={self.readonly})"


class RunRequest:
    """A RUN step's process: argv, environment (``KEY=value``), user, working
    directory, network mode ("none", "default" or "host") and mounts."""

    __slots__ = ("args", "env", "user", "workdir", "network", "mounts")

    def __init__(self, args: list[str], env: list[str], user: str = "", workdir: str = "/",
                 network: str = "default", mounts: list[RunMount] | None = None):
        self.args = args
        self.env = env
        self.user = user
        self.workdir = workdir
        self.network = network
        self.mounts = mounts or []


class Executor:
    """The interface; every method is the engine's to implement."""

    def step_root(self, image_id: str | None):  # pragma: no cover - interface
        raise NotImplementedError

    def run(self, root: StepRoot, request: RunRequest, output) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def has_changes(self, root: StepRoot) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def write_layer(self, root: StepRoot, out) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def layer_directory(self, root: StepRoot) -> tuple[str, frozenset] | None:
        return None  # optional: the builder then packs the layer with write_layer

    def resolve_user(self, root: StepRoot, user: str) -> tuple[int, int]:  # pragma: no cover - interface
        raise NotImplementedError

    def pull(self, reference: str, platform: str = "") -> str:  # pragma: no cover - interface
        raise NotImplementedError
