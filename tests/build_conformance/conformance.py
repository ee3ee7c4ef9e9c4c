"""The build conformance comparison's machinery: a case's context made
deterministic, an image's summary from a `save` archive, and the engines
that build the cases.

A case is a directory here: its Dockerfile and context files, and optionally
``modes`` (lines ``path 0640``: modes git does not keep).  The context is
copied to a temporary directory with every directory 0755, every file 0644
(0755 if executable), then the ``modes`` applied, so that every engine sees
the same modes whatever the checkout's umask was.

An image's summary (`summarize`) is what the comparison looks at:

- ``config``: Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts, Volumes,
  Labels, Healthcheck, StopSignal, Shell, OnBuild (missing, null and empty
  are all None) and the author;
- ``history``: the entries the build added above its base image, each
  ``[created_by, empty_layer]``, the classic builder's ``file:<hash>`` /
  ``dir:<hash>`` / ``multi:<hash>`` content hashes written ``<hash>`` (each
  builder hashes content its own way);
- ``files``: every path the build's layers touched (above the base image's
  layers), as it is in the final image: type, mode, owner, symlink target,
  the sha256 of a file's content; no times.

Engines: `Hakobune` (the real binary with a store of its own), `Docker` (the
classic builder, ``DOCKER_BUILDKIT=0``, or BuildKit, through a reference
daemon) and `Podman` (``podman build --layers --format docker``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile

CASES_DIR = os.path.dirname(os.path.abspath(__file__))
CONFIG_KEYS = ("Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
               "Healthcheck", "StopSignal", "Shell", "OnBuild")
_CONTENT_HASH = re.compile(r"(file|dir|multi):[0-9a-f]{64}\b")


def case_names() -> list[str]:
    return sorted(name for name in os.listdir(CASES_DIR)
                  if os.path.isfile(os.path.join(CASES_DIR, name, "Dockerfile")))


def prepare_context(case: str, destination: str) -> str:
    """The case's context copied to `destination` with deterministic modes."""
    source = os.path.join(CASES_DIR, case)
    shutil.copytree(source, destination, symlinks=True,
                    ignore=lambda directory, names: [n for n in names if directory == source and n in
                                                     ("modes", "expected.json")])
    for directory, dirs, files in os.walk(destination):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o100 else 0o644)
    modes = os.path.join(source, "modes")
    if os.path.exists(modes):
        with open(modes) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    path, mode = line.split()
                    os.chmod(os.path.join(destination, path), int(mode, 8))
    return destination


# --- summaries ------------------------------------------------------------------------

def summarize(archive: str, base_history: int, base_layers: list[str]) -> dict:
    """The summary of the one image in a `docker save` archive, above a base
    image with `base_history` history entries and these layer diff ids."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))[0]
        config = json.load(tar.extractfile(manifest["Config"]))
        diff_ids = config["rootfs"]["diff_ids"]
        shared = 0
        while shared < min(len(diff_ids), len(base_layers)) and diff_ids[shared] == base_layers[shared]:
            shared += 1
        files: dict[str, dict | None] = {}
        for layer in manifest["Layers"][shared:]:
            _apply(tar.extractfile(layer), files)
    return {"config": config_summary(config), "history": history_summary(config, base_history),
            "files": {path: entry for path, entry in sorted(files.items()) if entry is not None}}


def config_summary(config: dict) -> dict:
    container = config.get("config") or {}
    out = {key: (container.get(key) or None) for key in CONFIG_KEYS}
    out["author"] = config.get("author") or None
    return out


def history_summary(config: dict, base_history: int) -> list:
    return [[_CONTENT_HASH.sub(r"\1:<hash>", entry.get("created_by", "")), bool(entry.get("empty_layer"))]
            for entry in (config.get("history") or [])[base_history:]]


def _apply(stream, files: dict) -> None:
    """One layer's entries applied over `files` (path → entry or None when removed)."""
    data = stream.read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as layer:
        members = layer.getmembers()
        for member in members:
            path = _absolute(member.name)
            directory, base = os.path.split(path)
            if base == ".wh..wh..opq":
                for existing in list(files):
                    if existing.startswith(directory.rstrip("/") + "/"):
                        files[existing] = None
                continue
            if base.startswith(".wh."):
                removed = os.path.join(directory, base[4:])
                for existing in list(files):
                    if existing == removed or existing.startswith(removed + "/"):
                        files[existing] = None
                files[removed] = None
                continue
            files[path] = _entry(layer, member, files)


def _absolute(name: str) -> str:
    """A tar member's name as an absolute path ("./etc/" → "/etc")."""
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "/" + name if name not in ("", ".") else "/"


def _entry(layer, member, files) -> dict:
    entry = {"mode": f"{stat.S_IMODE(member.mode):04o}", "owner": f"{member.uid}:{member.gid}"}
    if member.isdir():
        entry["type"] = "dir"
    elif member.issym():
        entry.update(type="symlink", target=member.linkname)
    elif member.islnk():
        target = files.get(_absolute(member.linkname)) or {}
        entry.update(type="file", sha256=target.get("sha256"))
    elif member.isfile():
        content = layer.extractfile(member).read()
        entry.update(type="file", sha256=hashlib.sha256(content).hexdigest()[:16])
    else:
        entry["type"] = {tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}.get(
            member.type, repr(member.type))
    return entry


# --- engines --------------------------------------------------------------------------

class Engine:
    """Builds a case, saves the result, says what its base image is."""

    name = ""

    def command(self, *args) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def env(self) -> dict | None:
        return None

    def run(self, *args, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, env=self.env())

    def ok(self, *args) -> str:
        proc = self.run(*args)
        if proc.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def build_args(self) -> list[str]:
        return ["build"]

    def build(self, context: str, tag: str) -> subprocess.CompletedProcess:
        if not isinstance(self, Hakobune):
            self.images_before = set(self.ok("images", "-aq", "--no-trunc").split())
            self.containers_before = set(self.ok("ps", "-aq", "--no-trunc").split())
            with open(os.path.join(context, "Dockerfile")) as f:
                self.dockerfile = f.read()
        return self.run(*self.build_args(), "-t", tag, context)

    def remove_leftovers(self) -> None:
        """What a reference's build left besides its image (the classic builder
        and buildah keep every stage's images, dangling, and the classic
        builder sometimes a step's container): only what was made since the
        build began by one of this Dockerfile's steps (the engine is shared)."""
        steps = [line.split(None, 1)[1].strip() for line in self.dockerfile.splitlines()
                 if len(line.split(None, 1)) == 2 and len(line.split(None, 1)[1].strip()) > 3]
        for line in self.ok("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").splitlines():
            container, _, command = line.partition(" ")
            if container not in self.containers_before and any(step in command for step in steps):
                self.run("rm", "-f", container)
        removed = True
        while removed:  # removing one may leave its parent dangling
            removed = False
            for image in set(self.ok("images", "-q", "--no-trunc", "-f", "dangling=true").split()) - \
                    self.images_before:
                texts = self.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
                if any(step in texts for step in steps) and self.run("rmi", image).returncode == 0:
                    removed = True

    def base(self, image: str = "busybox:latest") -> tuple[int, list[str]]:
        """(history entries, layer diff ids) of the base image."""
        history = self.ok("history", "-q", "--no-trunc", image).split()
        layers = json.loads(self.ok("image", "inspect", image))[0]["RootFS"].get("Layers") or []
        return len(history), layers

    def summary(self, tag: str, directory: str, base: tuple[int, list[str]]) -> dict:
        archive = os.path.join(directory, f"{self.name}.tar")
        self.ok("save", "-o", archive, tag)
        try:
            return summarize(archive, *base)
        finally:
            os.unlink(archive)

    def remove(self, tag: str) -> None:
        self.run("rmi", "-f", tag)


class Hakobune(Engine):
    name = "hakobune"

    def __init__(self, binary: str, root: str, runroot: str):
        self.binary, self.root, self.runroot = binary, root, runroot

    def command(self, *args) -> list[str]:
        return [self.binary, "--root", self.root, "--runroot", self.runroot, *args]


def buildkit_client() -> str:
    """A docker client that can drive BuildKit: one with buildx, else Debian's
    docker.io client (20.10), whose BuildKit support is built in."""
    global _BUILDKIT_CLIENT
    if _BUILDKIT_CLIENT is None:
        has_buildx = subprocess.run(["docker", "buildx", "version"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode == 0
        _BUILDKIT_CLIENT = "docker" if has_buildx or not os.path.exists("/usr/bin/docker") else "/usr/bin/docker"
    return _BUILDKIT_CLIENT


_BUILDKIT_CLIENT = None


class Docker(Engine):
    """A reference Docker daemon at `host`: the classic builder, or BuildKit."""

    def __init__(self, host: str, buildkit: bool = False):
        self.host = host
        self.buildkit = buildkit
        self.name = "buildkit" if buildkit else "docker"

    def command(self, *args) -> list[str]:
        return [buildkit_client() if self.buildkit else "docker", *args]

    def env(self) -> dict:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "1" if self.buildkit else "0"}

    def available(self) -> bool:
        try:
            return self.run("image", "inspect", "busybox:latest", timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def remove(self, tag: str) -> None:
        self.run("rmi", "-f", tag)
        if not self.buildkit:  # BuildKit's cache records stay: its cache is the shared daemon's
            self.remove_leftovers()


class Podman(Engine):
    """podman as root, its RUN steps given a lower open-files limit (podman's
    default one cannot be set here) and runc."""

    name = "podman"

    def command(self, *args) -> list[str]:
        return ["podman", *args]

    def build_args(self) -> list[str]:
        # crun refuses cgroup v1 + an empty cgroup2 ("hybrid mode"): runc where it
        # is installed, else no container at all for RUN (chroot isolation)
        isolation = ["--runtime", "runc"] if shutil.which("runc") else ["--isolation", "chroot"]
        # --network none: no RUN step needs one, and netavark would leave its chains behind
        return ["build", "--layers", "--format", "docker", "--ulimit", "nofile=1024:1024", "--network", "none",
                *isolation]

    def available(self) -> bool:
        try:
            return (shutil.which("podman") is not None and
                    self.run("image", "exists", "busybox:latest", timeout=30).returncode == 0)
        except (OSError, subprocess.TimeoutExpired):
            return False

    def summary(self, tag: str, directory: str, base: tuple[int, list[str]]) -> dict:
        """Its summary without the label buildah adds to every image it builds."""
        found = super().summary(tag, directory, base)
        labels = dict(found["config"]["Labels"] or {})
        labels.pop("io.buildah.version", None)
        found["config"]["Labels"] = labels or None
        return found

    def remove(self, tag: str) -> None:
        self.run("rmi", "-f", tag)
        self.remove_leftovers()


# --- recording the references' results -----------------------------------------------

def expected_path(case: str) -> str:
    return os.path.join(CASES_DIR, case, "expected.json")


def load_expected(case: str) -> dict:
    """The references' recorded summaries of the case: {reference: summary}."""
    try:
        with open(expected_path(case)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def record(cases: list[str], engines: list[Engine], scratch: str) -> None:
    """Build `cases` with `engines` and write their summaries into each case's
    expected.json (a reference that cannot build a case records nothing)."""
    for case in cases:
        recorded = {}
        for engine in engines:
            context = prepare_context(case, os.path.join(scratch, f"{case}-{engine.name}"))
            tag = f"hk-conformance-{case.replace('_', '-')}:1"
            proc = engine.build(context, tag)
            if proc.returncode != 0:
                print(f"{case}: {engine.name} cannot build it: {proc.stderr.strip().splitlines()[-1]}")
                continue
            try:
                recorded[engine.name] = engine.summary(tag, scratch, base_of(engine, context))
            finally:
                engine.remove(tag)
        with open(expected_path(case), "w") as f:
            json.dump(recorded, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{case}: recorded {', '.join(recorded) or 'nothing'}")


def base_of(engine: Engine, context: str) -> tuple[int, list[str]]:
    """The base image the case's final stage stands on: scratch or busybox."""
    with open(os.path.join(context, "Dockerfile")) as f:
        froms = [line.split()[1] for line in f if line.upper().startswith("FROM ")]
    return (0, []) if froms and froms[-1] == "scratch" else engine.base()


def main() -> None:
    """``python tests/build_conformance/conformance.py [CASE...]``: record the
    reference daemon's results (classic builder and BuildKit) of the cases,
    the daemon at $HAKOBUNE_REFERENCE_DOCKER_HOST."""
    import sys
    import tempfile

    host = os.environ.get("HAKOBUNE_REFERENCE_DOCKER_HOST")
    if not host:
        raise SystemExit("set HAKOBUNE_REFERENCE_DOCKER_HOST to the reference daemon's socket")
    engines = [Docker(host), Docker(host, buildkit=True)]
    with tempfile.TemporaryDirectory() as scratch:
        record(sys.argv[1:] or case_names(), engines, scratch)


if __name__ == "__main__":
    main()
