"""A Dockerfile's stages, and the ARG scopes around them.

`split_stages` cuts the instructions at each FROM.  ARGs before the first
FROM are the global (meta) args: their defaults are expanded with the global
args declared before them, ``--build-arg`` values replace them, and they are
visible in FROM lines only (the image and ``--platform``), never inside a
stage.  Inside a stage an ``ARG NAME`` without a default takes the global
value (a build-arg, else the global default); `stage_arg_value` gives that
rule to the builder.  The stage name (``AS name``) is never expanded and is
compared lower-cased.
"""

from hakobune.build.errors import BuildError
from hakobune.build.parser import Dockerfile, Instruction
from hakobune.build.shell_words import expand


class Stage:
    """One build stage: its FROM (expanded), name, index and instructions."""

    __slots__ = ("index", "name", "base", "platform", "from_instruction", "instructions")

    def __init__(self, index: int, name: str, base: str, platform: str,
                 from_instruction: Instruction, instructions: list[Instruction]):
        self.index = index
        self.name = name
        self.base = base
        self.platform = platform
        self.from_instruction = from_instruction
        self.instructions = instructions

    def __repr__(self) -> str:
        return f"Stage({self.index}, {self.name!r}, base={self.base!r}, {len(self.instructions)} instructions)"


def _arg_pairs(instruction: Instruction):
    for arg in instruction.args:
        name, has_default, default = arg.partition("=")
        yield name, (default if has_default else None)


def global_args(instructions: list[Instruction], build_args: dict, escape: str = "\\",
                builtin_args: dict | None = None) -> dict:
    """The global args declared by ARGs before the first FROM: name -> value
    (a name declared without default and not given as build-arg is unset)."""
    scope = dict(builtin_args or {})
    for instruction in instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword != "ARG":
            continue
        for raw_name, default in _arg_pairs(instruction):
            try:
                name = expand(raw_name, scope, escape)
                if name in build_args and build_args[name] is not None:
                    scope[name] = build_args[name]
                elif default is not None:
                    scope[name] = expand(default, scope, escape)
                else:
                    scope.pop(name, None)
            except BuildError as error:
                raise error.at(None, instruction.start_line, instruction.end_line) from None
    return scope


def split_stages(dockerfile: Dockerfile, build_args: dict | None = None,
                 builtin_args: dict | None = None) -> tuple[dict, list[Stage]]:
    """(global args, stages); BuildError for an instruction before the first
    FROM other than ARG, or for a Dockerfile without FROM."""
    build_args = build_args or {}
    escape = dockerfile.escape
    instructions = dockerfile.instructions
    scope = global_args(instructions, build_args, escape, builtin_args)
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append(_stage(len(stages), instruction, scope, escape, dockerfile.filename))
        elif stages:
            stages[-1].instructions.append(instruction)
        elif instruction.keyword != "ARG":
            raise BuildError("no build stage in current context", dockerfile.filename,
                             instruction.start_line, instruction.end_line)
    if not stages:
        raise BuildError("dockerfile contains no stages to build", dockerfile.filename,
                         instructions[-1].end_line if instructions else 1)
    return scope, stages


def _stage(index: int, instruction: Instruction, scope: dict, escape: str, filename: str) -> Stage:
    from hakobune.build.check import parse_flags

    try:
        flags = parse_flags(instruction)
        base = expand(instruction.args[0], scope, escape) if instruction.args else ""
        platform = expand(flags["platform"], scope, escape) if flags["platform"] else ""
    except BuildError as error:
        raise error.at(filename, instruction.start_line, instruction.end_line) from None
    if not base:
        raise BuildError("base name (%s) should not be blank" % (instruction.args[0] if instruction.args else ""),
                         filename, instruction.start_line, instruction.end_line)
    name = instruction.args[2].lower() if len(instruction.args) == 3 else ""
    return Stage(index, name, base, platform, instruction, [])


def stage_arg_value(name: str, default: str | None, build_args: dict, global_scope: dict):
    """The value an ``ARG name[=default]`` inside a stage gives `name` (its
    default already expanded): a build-arg wins, then the default, then the
    global arg of that name; None when it stays unset."""
    if name in build_args and build_args[name] is not None:
        return build_args[name]
    if default is not None:
        return default
    return global_scope.get(name)
