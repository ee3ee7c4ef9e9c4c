"""The builder: a Dockerfile's stages run step by step, as the classic builder.

Every instruction commits an image whose parent is the previous step's
(`image.archive.add_child_image`): RUN, COPY, ADD and WORKDIR with the layer
of what they changed (none, an ``empty_layer`` history entry, when nothing
changed, as Docker's commit), the other instructions with an empty layer.
Each image's config carries the running config and one more history entry
whose ``created_by`` is Docker's text (``/bin/sh -c #(nop)  CMD ["sh"]``,
``|1 GREETING=hi /bin/sh -c echo $GREETING``, ``/bin/sh -c #(nop) COPY
file:<digest> in /dst ``).  The output is the classic builder's stream
(``Step 1/5 : FROM busybox``, `` ---> Using cache``, ``Successfully built``).

Multi-stage: only the stages the target needs (its FROM chain, COPY --from
and RUN --mount from=) are built.  The cache (`cache.BuildCache`) is looked
up for every step; intermediate images stay in the store, untagged, as the
classic builder keeps them (they are what the cache reuses, and `rmi` of the
result removes them with it); a failed build tags nothing.

RUN steps go through the `executor.Executor` the engine gives; the builder
itself only reads and writes through the image store and the step roots
the executor mounts.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import posixpath
import secrets

from hakobune.build.errors import BuildError
from hakobune.errors import HakobuneError

DEFAULT_SHELL = ["/bin/sh", "-c"]
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_FS_KEYWORDS = ("RUN", "COPY", "ADD", "WORKDIR")


class BuildFailed(HakobuneError):
    """A RUN step that exited non-zero: Docker's message and the step's exit code."""

    http_status = 500

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class BuildOptions:
    """What `build` was asked for (the CLI's flags; the API's query)."""

    def __init__(self, context_dir: str, dockerfile_text: str, dockerfile_name: str = "Dockerfile",
                 tags=(), build_args: dict | None = None, labels: dict | None = None, target: str = "",
                 no_cache: bool = False, pull: bool = False, network: str = "default", platform: str = "",
                 ignore_patterns=(), explain_cache: bool = False, cache_from=()):
        self.context_dir = context_dir
        self.dockerfile_text = dockerfile_text
        self.dockerfile_name = dockerfile_name
        self.tags = list(tags)
        self.build_args = dict(build_args or {})
        self.labels = dict(labels or {})
        self.target = target
        self.no_cache = no_cache
        self.pull = pull
        self.network = network or "default"
        self.platform = platform
        self.ignore_patterns = list(ignore_patterns)
        self.explain_cache = explain_cache
        self.cache_from = list(cache_from)


class _State:
    """A stage being built: its current image, running config and ARGs."""

    def __init__(self, image_id: str | None, raw: dict):
        self.image_id = image_id
        self.raw = raw
        self.config = copy.deepcopy(raw.get("config") or {})
        self.args: dict[str, str | None] = {}
        self.cmd_set = False
        self.author = raw.get("author", "")

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def env_map(self) -> dict:
        """What substitution sees: the declared args, then Env (Env wins)."""
        scope = {name: value for name, value in self.args.items() if value is not None}
        for entry in self.config.get("Env") or []:
            name, _, value = entry.partition("=")
            scope[name] = value
        return scope


# --- pure helpers ---------------------------------------------------------------------

def go_quote_list(items) -> str:
    """Go's %q of a []string: ``["a" "b"]``."""
    from hakobune.build.shell_words import go_quote

    return "[" + " ".join(go_quote(item) for item in items) + "]"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String for the durations HEALTHCHECK takes."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= scale:
                return sign + _trim_fraction(ns, scale) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + _trim_fraction(rest, 1_000_000_000) + "s"


def _trim_fraction(value: int, scale: int) -> str:
    whole, fraction = divmod(value, scale)
    if not fraction:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")


def _set_default_path(config: dict) -> None:
    """The classic builder's setDefaultPath: a stage whose base has no PATH
    gets the default one in its Env (so the built image has it too)."""
    from hakobune.oci.defaults import DEFAULT_PATH_ENV

    env = list(config.get("Env") or [])
    if not any(entry.partition("=")[0] == "PATH" for entry in env):
        config["Env"] = env + [DEFAULT_PATH_ENV]


def set_env(env: list[str], name: str, value: str) -> list[str]:
    """`env` with NAME=value replacing NAME's entry in place, or appended."""
    entry = f"{name}={value}"
    out = list(env)
    for index, existing in enumerate(out):
        if existing.partition("=")[0] == name:
            out[index] = entry
            return out
    out.append(entry)
    return out


def expose_ports(words: list[str]) -> list[str]:
    """EXPOSE's words as ``port/proto`` keys (ranges expanded), sorted."""
    ports = set()
    for word in words:
        port, _, proto = word.partition("/")
        proto = (proto or "tcp").lower()
        start, _, end = port.partition("-")
        if not start.isdigit() or (end and not end.isdigit()):
            raise BuildError(f"invalid containerPort: {port}")
        for number in range(int(start), int(end or start) + 1):
            ports.add(f"{number}/{proto}")
    return sorted(ports)


def parse_mount(text: str) -> dict:
    """A RUN --mount value (``type=cache,target=/root/.cache``) as a dict."""
    import csv

    fields = next(csv.reader([text])) if text else []
    mount: dict = {"type": "bind"}
    for field in fields:
        key, has_value, value = field.partition("=")
        key = key.strip().lower()
        if key in ("ro", "readonly") and not has_value:
            mount["readonly"] = True
        elif key in ("rw", "readwrite") and not has_value:
            mount["readonly"] = False
        elif key in ("target", "dst", "destination"):
            mount["target"] = value
        elif key in ("source", "src"):
            mount["source"] = value
        elif key in ("ro", "readonly", "rw", "readwrite"):
            truth = value.lower() in ("true", "1", "")
            mount["readonly"] = truth if key in ("ro", "readonly") else not truth
        else:
            mount[key] = value
    if mount["type"] not in ("bind", "cache", "tmpfs"):
        raise BuildError(f"unsupported mount type {mount['type']!r}")
    if not mount.get("target"):
        raise BuildError("mount target is required")
    return mount


def parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text or 0)


def needed_stages(stages, target_index: int, names: dict) -> list[int]:
    """Indexes of the stages the target needs (its FROM chain, COPY --from,
    RUN --mount from=), in order; BuildError for a cycle."""
    from hakobune.build.check import parse_flags

    def references(stage):
        found = []
        if stage.base.lower() in names:
            found.append(names[stage.base.lower()])
        for instruction in stage.instructions:
            flags = parse_flags(instruction) if instruction.keyword in ("COPY", "RUN") else {}
            candidates = [flags.get("from") or ""]
            for mount in flags.get("mount") or []:
                candidates.append(next((f[5:] for f in mount.split(",") if f.startswith("from=")), ""))
            for name in candidates:
                if name.lower() in names:
                    found.append(names[name.lower()])
                elif name.isdigit() and int(name) < len(stages):
                    found.append(int(name))
        return found

    needed: set[int] = set()
    visiting: set[int] = set()

    def visit(index: int) -> None:
        if index in needed:
            return
        if index in visiting:
            raise BuildError(f"circular dependency detected on stage: {stages[index].name or index}")
        visiting.add(index)
        for dependency in references(stages[index]):
            if dependency >= index and dependency != index:
                raise BuildError(f"stage {stages[index].name or index} refers to a later stage")
            if dependency == index:
                raise BuildError(f"circular dependency detected on stage: {stages[index].name or index}")
            visit(dependency)
        visiting.discard(index)
        needed.add(index)

    visit(target_index)
    return sorted(needed)


def host_platform_matches(text: str) -> bool:
    from hakobune.oci.platform import host_platform, parse_platform, platform_matches

    return platform_matches(parse_platform(text).normalized(), host_platform().normalized())


# --- the builder ------------------------------------------------------------------------

class Builder:
    def __init__(self, store, executor, build_dir: str, options: BuildOptions, output):
        from hakobune.build.cache import BuildCache

        self.store = store
        self.executor = executor
        self.build_dir = build_dir
        self.options = options
        self.write = output
        self.cache = BuildCache(os.path.join(build_dir, "cache"), store)
        self.stage_images: dict[int, str | None] = {}
        self.step_number = 0
        self.step_total = 0
        self.consumed: set[str] = set()
        self.filename = options.dockerfile_name
        self._context_tree = None
        self._cache_sources = None

    # --- the whole build ---------------------------------------------------------------

    def build(self) -> str:
        from hakobune.build.parser import parse_dockerfile
        from hakobune.build.stages import split_stages

        for tag in self.options.tags:
            self.store.tag_reference(tag)
        if self.options.platform and not host_platform_matches(self.options.platform):
            raise BuildError(f"platform {self.options.platform} is not this host's")
        dockerfile = parse_dockerfile(self.options.dockerfile_text, self.filename)
        self.escape = dockerfile.escape
        self.global_scope, stages = split_stages(dockerfile, self.options.build_args)
        self.consumed.update(self.global_scope)
        self.stages = stages
        self.names = {stage.name: stage.index for stage in stages if stage.name}
        target = self._target_index(stages)
        indexes = needed_stages(stages, target, self.names)
        self.step_total = sum(1 + len(stages[i].instructions) for i in indexes) + (1 if self.options.labels else 0)
        image_id = None
        for index in indexes:
            image_id = self._build_stage(stages[index], last=index == target)
            self.stage_images[index] = image_id
        if image_id is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        self._warn_unconsumed()
        self.write(f"Successfully built {image_id.split(':')[-1][:12]}\n")
        for tag in self.options.tags:
            reference = self.store.tag(image_id, tag)
            self.write(f"Successfully tagged {reference.familiar}\n")
        return image_id

    def _target_index(self, stages) -> int:
        target = self.options.target
        if not target:
            return len(stages) - 1
        if target.lower() in self.names:
            return self.names[target.lower()]
        raise BuildError(f"failed to reach build target {target} in Dockerfile")

    def _warn_unconsumed(self) -> None:
        unused = sorted(name for name in self.options.build_args
                        if name not in self.consumed and name not in PROXY_ARGS)
        if unused:
            self.write(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")

    # --- stages --------------------------------------------------------------------------

    def _build_stage(self, stage, last: bool) -> str | None:
        state = self._from(stage)
        for instruction in stage.instructions:
            self._header(instruction.original)
            self._located(instruction, lambda: self._dispatch(state, instruction))
        if last and self.options.labels:
            text = "LABEL " + " ".join(f"{k}={v}" for k, v in sorted(self.options.labels.items()))
            self._header(text)
            labels = dict(state.config.get("Labels") or {})
            labels.update(self.options.labels)
            self._metadata(state, {**state.config, "Labels": labels}, text)
        return state.image_id

    def _header(self, text: str) -> None:
        self.step_number += 1
        self.write(f"Step {self.step_number}/{self.step_total} : {text}\n")

    def _located(self, instruction, action):
        try:
            return action()
        except BuildError as error:
            raise error.at(self.filename, instruction.start_line, instruction.end_line) from None
        except BuildFailed:
            raise
        except HakobuneError as error:
            raise BuildError(str(error), self.filename, instruction.start_line, instruction.end_line) from None

    def _from(self, stage) -> _State:
        self._header(stage.from_instruction.original)
        return self._located(stage.from_instruction, lambda: self._from_base(stage))

    def _from_base(self, stage) -> _State:
        if stage.platform and not host_platform_matches(stage.platform):
            raise BuildError(f"platform {stage.platform} is not this host's")
        base = stage.base
        if base.lower() in self.names and self.names[base.lower()] < stage.index:
            image_id = self.stage_images.get(self.names[base.lower()])
        elif base.lower() == "scratch":
            image_id = None
        else:
            image_id = self._image(base, stage.platform)
        if image_id is None:
            self.write(" ---> \n")  # the classic builder's empty id for scratch
            state = _State(None, {})
        else:
            self.write(f" ---> {image_id.split(':')[-1][:12]}\n")
            state = _State(image_id, copy.deepcopy(self.store.get(image_id).config.raw))
        _set_default_path(state.config)
        self._run_triggers(state)
        return state

    def _image(self, reference: str, platform: str = "") -> str:
        from hakobune.errors import NotFound

        if self.options.pull:
            return self.executor.pull(reference, platform)
        try:
            return self.store.resolve(reference).id
        except NotFound:
            return self.executor.pull(reference, platform)

    def _run_triggers(self, state: _State) -> None:
        from hakobune.build.parser import parse_dockerfile

        triggers = list(state.config.get("OnBuild") or [])
        if not triggers:
            return
        self.write(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
        state.config["OnBuild"] = None
        for text in triggers:
            instruction = parse_dockerfile(text + "\n", self.filename).instructions[0]
            if instruction.keyword in ("ONBUILD", "FROM", "MAINTAINER"):
                raise BuildError(f"{instruction.keyword} isn't allowed as an ONBUILD trigger")
            self._dispatch(state, instruction)

    # --- dispatch --------------------------------------------------------------------------

    def _dispatch(self, state: _State, instruction) -> None:
        from hakobune.build.shell_words import expand_instruction

        keyword = instruction.keyword
        if keyword == "ARG":
            return self._arg(state, instruction)
        args = expand_instruction(instruction, state.env_map(), self.escape, self.filename)
        handler = getattr(self, "_" + keyword.lower())
        handler(state, instruction, args)

    def _comment_cmd(self, state: _State, comment: str, single: bool = False) -> list[str]:
        return state.shell + (["#(nop) " + comment] if single else ["#(nop) ", comment])

    def _metadata(self, state: _State, config: dict, comment: str) -> None:
        created_by = self._comment_cmd(state, comment)
        self._step(state, config, created_by, " ".join(created_by), running_line=True)

    # metadata instructions -------------------------------------------------------

    def _env(self, state, instruction, args) -> None:
        env = list(state.config.get("Env") or [])
        comment = "ENV"
        for i in range(0, len(args) - 2, 3):
            env = set_env(env, args[i], args[i + 1])
            comment += f" {args[i]}={args[i + 1]}"
        self._metadata(state, {**state.config, "Env": env}, comment)

    def _label(self, state, instruction, args) -> None:
        labels = dict(state.config.get("Labels") or {})
        comment = "LABEL"
        for i in range(0, len(args) - 2, 3):
            labels[args[i]] = args[i + 1]
            comment += f" {args[i]}={args[i + 1]}"
        self._metadata(state, {**state.config, "Labels": labels}, comment)

    def _maintainer(self, state, instruction, args) -> None:
        state.author = args[0] if args else ""
        self._metadata(state, dict(state.config), "MAINTAINER " + state.author)

    def _expose(self, state, instruction, args) -> None:
        ports = expose_ports(args)
        exposed = dict(state.config.get("ExposedPorts") or {})
        exposed.update({port: {} for port in ports})
        self._metadata(state, {**state.config, "ExposedPorts": exposed}, "EXPOSE " + " ".join(sorted(args)))

    def _volume(self, state, instruction, args) -> None:
        volumes = dict(state.config.get("Volumes") or {})
        for volume in args:
            if not volume.strip():
                raise BuildError("VOLUME specified can not be an empty string")
            volumes[volume] = {}
        self._metadata(state, {**state.config, "Volumes": volumes}, f"VOLUME [{' '.join(args)}]")

    def _user(self, state, instruction, args) -> None:
        self._metadata(state, {**state.config, "User": args[0]}, "USER " + args[0])

    def _stopsignal(self, state, instruction, args) -> None:
        self._metadata(state, {**state.config, "StopSignal": args[0]}, "STOPSIGNAL " + args[0])

    def _shell(self, state, instruction, args) -> None:
        config = {**state.config, "Shell": list(args)}
        created_by = list(args) + ["#(nop) ", f"SHELL [{' '.join(args)}]"]  # the new shell says it
        self._step(state, config, created_by, " ".join(created_by), running_line=True)

    def _command_of(self, state, instruction) -> list[str]:
        if instruction.json:
            return list(instruction.args)
        return state.shell + [" ".join(instruction.args)]

    def _cmd(self, state, instruction, args) -> None:
        command = self._command_of(state, instruction)
        state.cmd_set = True
        self._metadata(state, {**state.config, "Cmd": command}, "CMD " + go_quote_list(command))

    def _entrypoint(self, state, instruction, args) -> None:
        command = self._command_of(state, instruction)
        config = {**state.config, "Entrypoint": command}
        if not state.cmd_set:
            config["Cmd"] = None
        self._metadata(state, config, "ENTRYPOINT " + go_quote_list(command))

    def _onbuild(self, state, instruction, args) -> None:
        text = instruction.trigger.original.strip()  # as written, its keyword's case kept (as Docker)
        triggers = list(state.config.get("OnBuild") or []) + [text]
        self._metadata(state, {**state.config, "OnBuild": triggers}, "ONBUILD " + text)

    def _healthcheck(self, state, instruction, args) -> None:
        from hakobune.build.check import parse_flags
        from hakobune.build.durations import parse_go_duration_ns

        kind = args[0].upper()
        if kind == "NONE":
            check = {"Test": ["NONE"]}
            self._metadata(state, {**state.config, "Healthcheck": check}, 'HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}')
            return
        flags = parse_flags(instruction)
        test = ["CMD"] + args[1:] if instruction.json else ["CMD-SHELL", " ".join(args[1:])]
        durations = [parse_go_duration_ns(flags[name]) if flags[name] else 0
                     for name in ("interval", "timeout", "start-period", "start-interval")]
        retries = int(flags["retries"] or 0)
        check = {"Test": test}
        for key, value in zip(("Interval", "Timeout", "StartPeriod", "StartInterval"), durations):
            if value:
                check[key] = value
        if retries:
            check["Retries"] = retries
        text = ("HEALTHCHECK &{" + go_quote_list(test) + " "
                + " ".join(f'"{go_duration(d)}"' for d in durations) + f" '\\x{retries:02x}'}}")
        self._metadata(state, {**state.config, "Healthcheck": check}, text)

    def _arg(self, state, instruction) -> None:
        from hakobune.build.shell_words import expand_instruction
        from hakobune.build.stages import stage_arg_value

        comments = []
        for arg in expand_instruction(instruction, state.env_map(), self.escape, self.filename):
            name, has_default, default = arg.partition("=")
            value = stage_arg_value(name, default if has_default else None, self.options.build_args,
                                    self.global_scope)
            state.args[name] = value
            self.consumed.add(name)
            comments.append(arg)
        self._metadata(state, dict(state.config), "ARG " + " ".join(comments))

    # filesystem instructions ---------------------------------------------------------

    def _workdir(self, state, instruction, args) -> None:
        path = args[0]
        if not path.startswith("/"):
            path = posixpath.join(state.config.get("WorkingDir") or "/", path)
        path = posixpath.normpath(path) if path != "/" else "/"
        created_by = self._comment_cmd(state, "WORKDIR " + path, single=True)

        def make_directory(root) -> None:
            from hakobune.image._inroot import RootDir

            with RootDir(root.merged) as tree:
                tree.directory(path.strip("/"), create=True)

        self._step(state, {**state.config, "WorkingDir": path}, created_by, " ".join(created_by),
                   action=make_directory, running_line=True)

    def _run_env(self, state: _State) -> tuple[list[str], list[str]]:
        """(the build args a RUN sees as ``K=v``, those recorded in its history)."""
        env_names = {entry.partition("=")[0] for entry in state.config.get("Env") or []}
        visible, recorded = [], []
        for name, value in state.args.items():
            if value is not None and name not in env_names:
                visible.append(f"{name}={value}")
                recorded.append(f"{name}={value}")
        for name in PROXY_ARGS:
            value = self.options.build_args.get(name)
            if value is not None and name not in state.args and name not in env_names:
                visible.append(f"{name}={value}")
        return visible, sorted(recorded)

    def _run(self, state, instruction, args) -> None:
        from hakobune.build.check import parse_flags
        from hakobune.build.executor import RunRequest

        flags = parse_flags(instruction)
        if instruction.json:
            command = list(instruction.args)
        else:
            text = " ".join(instruction.args)
            command = state.shell + [_with_heredocs(text, instruction.heredocs)]
        visible, recorded = self._run_env(state)
        save = ([f"|{len(recorded)}"] + recorded + command) if visible else command
        network = flags["network"] or self.options.network
        if network not in ("none", "default", "host"):
            raise BuildError(f"unsupported network mode {network!r}")
        mount_texts = [_expand_flag(text, state.env_map(), self.escape) for text in flags["mount"]]
        cache_text = "\n".join([" ".join(save), f"network={network}", *mount_texts])
        user = state.config.get("User") or ""
        workdir = state.config.get("WorkingDir") or "/"
        env = list(state.config.get("Env") or []) + visible

        def execute(root) -> None:
            with contextlib.ExitStack() as stack:
                mounts = [self._run_mount(stack, parse_mount(text)) for text in mount_texts]
                request = RunRequest(command, env, user, workdir, network, mounts)
                status = self.executor.run(root, request, self.write)
            if status != 0:
                raise BuildFailed(f"The command '{' '.join(command)}' returned a non-zero code: {status}", status)

        self._step(state, dict(state.config), save, cache_text, action=execute, running_line=True)

    def _run_mount(self, stack, mount: dict):
        from hakobune.build.context import SourceTree
        from hakobune.build.executor import RunMount

        kind, target = mount["type"], mount["target"]
        if kind == "tmpfs":
            return RunMount("tmpfs", target, size=parse_size(mount.get("size", "0")))
        if kind == "cache":
            identity = mount.get("id") or target
            directory = os.path.join(self.build_dir, "cache-mounts",
                                     hashlib.sha256(identity.encode()).hexdigest()[:32])
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o755)
                if mount.get("uid") or mount.get("gid"):
                    os.chown(directory, int(mount.get("uid") or 0), int(mount.get("gid") or 0))
            return RunMount("cache", target, directory, readonly=False)
        if mount.get("from"):
            root = stack.enter_context(self.executor.step_root(self._source_image(mount["from"])))
            tree = SourceTree(root.merged, is_context=False)
        else:
            tree = self.context_tree()
        source = tree.host_path(tree.clean(mount.get("source", "")))
        if source is None:
            raise BuildError(f"failed to compute cache key: \"/{mount.get('source', '')}\": not found")
        return RunMount("bind", target, source, readonly=mount.get("readonly", True))

    def context_tree(self):
        from hakobune.build.context import SourceTree
        from hakobune.build.ignore import PatternMatcher

        if self._context_tree is None:
            self._context_tree = SourceTree(self.options.context_dir, PatternMatcher(self.options.ignore_patterns))
        return self._context_tree

    def _source_image(self, name: str) -> str | None:
        """The image COPY --from / --mount from= names: a stage, a stage index, an image."""
        if name.lower() in self.names:
            return self.stage_images[self.names[name.lower()]]
        if name.isdigit() and int(name) in self.stage_images:
            return self.stage_images[int(name)]
        if name.isdigit():
            raise BuildError(f"invalid from flag value {name}: refers to current build stage")
        return self._image(name)

    def _copy(self, state, instruction, args) -> None:
        self._copy_or_add(state, instruction, args, "COPY")

    def _add(self, state, instruction, args) -> None:
        self._copy_or_add(state, instruction, args, "ADD")

    def _copy_or_add(self, state, instruction, args, keyword: str) -> None:
        from hakobune.build.check import parse_flags

        flags = parse_flags(instruction)
        for name in ("chown", "chmod"):  # expanded as Docker's CopyCommand.Expand does
            if flags.get(name):
                flags[name] = _expand_flag(flags[name], state.env_map(), self.escape)
        with contextlib.ExitStack() as stack:
            scratch = stack.enter_context(_scratch_dir(self.build_dir))
            plan = _CopyPlan(self, state, instruction, args, flags, keyword, stack, scratch)
            chown = f"--chown={flags['chown']}" if flags.get("chown") else ""  # no space after it, as Docker
            created_by = self._comment_cmd(state, f"{keyword} {chown}{plan.describe()} in {args[-1]} ",
                                           single=True)
            cache_text = "\n".join([" ".join(created_by).replace(plan.digest, "<content>"),
                                    f"chown={flags['chown']}", f"chmod={flags['chmod']}",
                                    f"from={flags.get('from', '')}", plan.digest])
            self._step(state, dict(state.config), created_by, cache_text, action=plan.apply)

    # --- one step ------------------------------------------------------------------------

    def _step(self, state: _State, config: dict, created_by: list[str] | str, cache_text: str,
              action=None, running_line: bool = False) -> None:
        """Reuse the cached image of this step, or make it (`action(root)` on a
        step root for filesystem steps); the state moves on to it."""
        created_text = created_by if isinstance(created_by, str) else " ".join(created_by)
        key = self.cache.key(state.image_id, cache_text)
        hit = None if self.options.no_cache else self.cache.lookup(key)
        if hit is None and self.options.cache_from and not self.options.no_cache:
            hit = self._from_cache_sources(state, config, created_text)
            if hit is not None:
                self.cache.record(key, hit, state.image_id, cache_text)
        if hit is not None:
            self.write(" ---> Using cache\n")
        else:
            if self.options.explain_cache and not self.options.no_cache:
                self.write(f" ---> Cache miss: {self.cache.explain_miss(state.image_id, cache_text)}\n")
            step_id = secrets.token_hex(6)
            if running_line:
                self.write(f" ---> Running in {step_id}\n")
            hit = self._commit(state, config, created_text, action)
            if running_line:
                self.write(f"Removing intermediate container {step_id}\n")
            self.cache.record(key, hit, state.image_id, cache_text)
        self.write(f" ---> {hit.split(':')[-1][:12]}\n")
        state.image_id = hit
        state.raw = self.store.get(hit).config.raw
        state.config = copy.deepcopy(config)

    # --- --cache-from ----------------------------------------------------------------

    def cache_sources(self) -> list:
        """The --cache-from images in the store, (id, raw config); names that are
        not there are skipped, as the classic builder skips them."""
        from hakobune.errors import NotFound

        if self._cache_sources is None:
            self._cache_sources = []
            for name in self.options.cache_from:
                try:
                    image = self.store.resolve(name)
                except (NotFound, HakobuneError):
                    continue
                self._cache_sources.append((image.id, self.store.get(image.id).config.raw))
        return self._cache_sources

    def _from_cache_sources(self, state: _State, config: dict, created_by: str) -> str | None:
        """The classic builder's cache from images it did not build (pulled,
        loaded): a source whose history and layers extend the parent's and
        whose next history entry was made by this step.  At the source's last
        entry the source itself is the step's image; before it, an image of
        the parent plus that entry (and its layer, already in the layer store)
        is made, its history entry the source's own, so that the next step's
        parent is again a prefix of the source."""
        parent = state.raw if state.image_id else {}
        parent_history = parent.get("history") or []
        parent_layers = (parent.get("rootfs") or {}).get("diff_ids") or []
        for source_id, source in self.cache_sources():
            history = source.get("history") or []
            layers = (source.get("rootfs") or {}).get("diff_ids") or []
            depth = len(parent_history)
            if (len(history) <= depth or history[:depth] != parent_history or layers[:len(parent_layers)] !=
                    parent_layers or history[depth].get("created_by") != created_by):
                continue
            self._cache_sources = [(source_id, source)]  # stay on this source, as Docker does
            if depth == len(history) - 1:
                return source_id
            return self._restore_from_source(state, config, source_id, history[depth], layers, len(parent_layers))
        return None

    def _restore_from_source(self, state: _State, config: dict, source_id: str, entry: dict,
                             layers: list[str], parent_layer_count: int) -> str:
        from hakobune.image.model import LayerSource

        diff_id = None if entry.get("empty_layer") else layers[parent_layer_count]
        diff_ids = layers[:parent_layer_count] + ([diff_id] if diff_id else [])
        config_bytes = _image_config(state, config, entry.get("created_by", ""), diff_id, history_entry=entry)
        source_record = self.store.read_record(source_id)
        with self.store.lease() as lease:
            lease.hold(*source_record.chain_ids)
            new = self.store.prepare(config_bytes, [LayerSource(d) for d in diff_ids], parent=state.image_id or "")
            new.record.layer_blobs.update({d: list(blobs) for d, blobs in source_record.layer_blobs.items()
                                           if d in diff_ids})
            self.store.commit([new], [], lease=lease)
        return new.id

    def _commit(self, state: _State, config: dict, created_by: str, action) -> str:
        from hakobune.image.archive import add_child_image

        def make_config(diff_id):
            return _image_config(state, config, created_by, diff_id)

        if action is None:
            return add_child_image(self.store, state.image_id, None, make_config, empty=True)
        with self.executor.step_root(state.image_id) as root:
            ready_layer = action(root)
            if ready_layer is not None:
                return add_child_image(self.store, state.image_id, lambda out: _copy_file(ready_layer, out),
                                       make_config)
            empty = not self.executor.has_changes(root)
            layer_directory = getattr(self.executor, "layer_directory", None)
            source = layer_directory(root) if layer_directory is not None and not empty else None
            if source is not None:  # the step's files become the layer's: no tar to unpack again
                return add_child_image(self.store, state.image_id, None, make_config, layer_directory=source)
            return add_child_image(self.store, state.image_id, lambda out: self.executor.write_layer(root, out),
                                   make_config, empty=empty)


def _copy_file(path: str, out) -> None:
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            out.write(chunk)


def _image_config(state: _State, config: dict, created_by: str, diff_id: str | None,
                  history_entry: dict | None = None) -> bytes:
    """The step's image config, its keys in Docker's order (its history entry
    `history_entry` as given, when the step comes from a --cache-from image)."""
    import json

    from hakobune.image import _timefmt
    from hakobune.image.views import container_config
    from hakobune.oci.platform import host_platform

    base = state.raw
    created = _timefmt.now()
    host = host_platform().normalized()
    doc = {"architecture": base.get("architecture") or host.architecture}
    if state.author:
        doc["author"] = state.author
    doc["config"] = container_config(config)
    doc["created"] = created
    doc["docker_version"] = "hakobune"
    entry = {"created": created, "created_by": created_by}
    if diff_id is None:
        entry["empty_layer"] = True
    if history_entry is not None:
        entry = history_entry
    doc["history"] = list(base.get("history") or []) + [entry]
    doc["os"] = base.get("os") or "linux"
    diff_ids = list((base.get("rootfs") or {}).get("diff_ids") or [])
    if diff_id is not None:
        diff_ids.append(diff_id)
    doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    if base.get("variant"):
        doc["variant"] = base["variant"]
    return json.dumps(doc, separators=(",", ":")).encode()


def _with_heredocs(text: str, heredocs) -> str:
    """A shell-form RUN with heredocs: the script itself when the command is
    just ``<<EOF``, else the command followed by the heredoc bodies."""
    if not heredocs:
        return text
    stripped = text.strip()
    if len(heredocs) == 1 and stripped.lstrip("<-").strip("'\"") == heredocs[0].name and stripped.startswith("<<"):
        return heredocs[0].content
    body = text
    for heredoc in heredocs:
        body += "\n" + heredoc.content + heredoc.name
    return body


def _expand_flag(text: str, env: dict, escape: str) -> str:
    from hakobune.build.shell_words import expand

    return expand(text, env, escape)


@contextlib.contextmanager
def _scratch_dir(build_dir: str):
    import shutil
    import tempfile

    os.makedirs(build_dir, mode=0o700, exist_ok=True)
    path = tempfile.mkdtemp(prefix="copy-", dir=build_dir)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class _CopyPlan:
    """A COPY or ADD: its sources resolved and hashed before the cache is
    asked; `apply(root)` writes them into the step's root."""

    def __init__(self, builder: Builder, state: _State, instruction, args, flags, keyword: str, stack, scratch):
        from hakobune.build.context import SourceTree, destination_path

        self.builder = builder
        self.keyword = keyword
        self.flags = flags
        self.scratch = scratch
        sources, dest = args[:-1], args[-1]
        self.dest, self.dest_is_dir = destination_path(dest, state.config.get("WorkingDir") or "/")
        self.keep_owner = bool(flags.get("from"))
        self.chmod = int(flags["chmod"], 8) if flags.get("chmod") else None
        if flags.get("from"):
            root = stack.enter_context(builder.executor.step_root(builder._source_image(flags["from"])))
            self.tree = SourceTree(root.merged, is_context=False)
        elif instruction.heredocs:
            self.tree = SourceTree(self._write_heredocs(instruction.heredocs), is_context=False)
            sources = [s.lstrip("<-").strip("'\"") for s in sources]
        else:
            self.tree = builder.context_tree()
        self.urls = [s for s in sources if keyword == "ADD" and s.startswith(("http://", "https://"))]
        if self.urls:
            self.tree = SourceTree(self._download(self.urls, flags.get("checksum", "")), is_context=False)
            sources = [_url_name(url) for url in self.urls]
        self.sources = [path for source in sources for path in self.tree.expand(source)]
        self.archives = set()
        if keyword == "ADD" and not self.urls and not flags.get("from"):
            from hakobune.build.context import is_archive

            for relative in self.sources:
                host = self.tree.host_path(relative)
                if os.path.isfile(host) and is_archive(host):
                    self.archives.add(relative)
        self.digest = self._digest()

    def _write_heredocs(self, heredocs) -> str:
        directory = os.path.join(self.scratch, "heredocs")
        os.makedirs(directory)
        for heredoc in heredocs:
            with open(os.path.join(directory, heredoc.name), "w") as f:
                f.write(heredoc.content)
        return directory

    def _download(self, urls: list[str], checksum: str) -> str:
        import urllib.request

        directory = os.path.join(self.scratch, "downloads")
        os.makedirs(directory)
        for url in urls:
            path = os.path.join(directory, _url_name(url))
            digest = hashlib.sha256()
            try:
                with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
                    while chunk := response.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            except OSError as error:
                raise BuildError(f"failed to GET {url}: {error}") from None
            if checksum and checksum != "sha256:" + digest.hexdigest():
                raise BuildError(f"digest mismatch {checksum}: sha256:{digest.hexdigest()}")
            os.chmod(path, 0o600)
        return directory

    def _entries(self, dest_exists_as_dir):
        from hakobune.build.context import CopyEntry, plan_copy

        plain = [s for s in self.sources if s not in self.archives]
        entries = plan_copy(self.tree, plain, self.dest, self.dest_is_dir or len(self.sources) > 1,
                            dest_exists_as_dir) if plain else []
        archives = [CopyEntry(self.dest, self.tree.host_path(s), os.stat(self.tree.host_path(s)), s)
                    for s in sorted(self.archives)]
        return entries, archives

    def _digest(self) -> str:
        """The sources' content digest; the plan is kept for `apply` when it did
        not depend on what the image has at the destination (the common case:
        a destination ending in /), which saves walking the sources twice."""
        from hakobune.build.context import content_digest

        asked = []
        entries, archives = self._entries(lambda path: asked.append(path) or False)
        self.planned = None if asked else (entries, archives)
        return content_digest(entries + archives, self.keep_owner)

    def describe(self) -> str:
        """Docker's ``file:<hash>``, ``dir:<hash>`` or ``multi:<hash>``."""
        if len(self.sources) == 1:
            host = self.tree.host_path(self.sources[0])
            kind = "dir" if os.path.isdir(host) else "file"
        else:
            kind = "multi"
        return f"{kind}:{self.digest}"

    def apply(self, root) -> str | None:
        """Write the sources into the step's root; or, when no destination
        leads through a symlink of the image (the common case), give the path
        of the layer tar itself (the copied entries and their parent
        directories as the overlay's copy-up would record them), which saves
        writing everything twice."""
        from hakobune.build.context import in_layer_order, parent_directories, write_copy_tar
        from hakobune.image.tarlayer import apply_layer

        owner = self._owner(root)
        entries, archives = self.planned or self._entries(lambda path: _is_directory_in(root.merged, path))
        tar_path = os.path.join(self.scratch, "copy.tar")
        if entries and not archives:
            parents = parent_directories(root.merged, entries)
            if parents is not None:
                with open(tar_path, "wb") as out:
                    write_copy_tar(in_layer_order(parents + entries), out, owner, self.chmod, self.keep_owner)
                return tar_path
        if entries:
            with open(tar_path, "wb") as out:
                write_copy_tar(entries, out, owner, self.chmod, self.keep_owner)
            with open(tar_path, "rb") as tarball:
                apply_layer(tarball, root.merged, for_overlay=False)
        for archive in archives:
            self._unpack(root, archive.host_path)
        return None

    def _owner(self, root):
        chown = self.flags.get("chown")
        if not chown:
            return None
        user, _, group = chown.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            return int(user), int(group or user)
        return self.builder.executor.resolve_user(root, chown)

    def _unpack(self, root, archive: str) -> None:
        from hakobune.image._inroot import RootDir
        from hakobune.image.tarlayer import apply_layer

        with RootDir(root.merged) as tree:
            directory = tree.directory(self.dest.strip("/"), create=True)
            with open(archive, "rb") as tarball:
                apply_layer(tarball, f"/proc/self/fd/{directory}", for_overlay=False)


def _url_name(url: str) -> str:
    from urllib.parse import urlparse

    return posixpath.basename(urlparse(url).path.rstrip("/")) or "__unnamed__"


def _is_directory_in(merged: str, path: str) -> bool:
    from hakobune.build.context import SourceTree

    host = SourceTree(merged, is_context=False).host_path(path.strip("/"))
    return host is not None and os.path.isdir(host)
