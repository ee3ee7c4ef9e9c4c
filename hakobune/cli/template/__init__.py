"""Go's text/template, as docker uses it for `--format` and `inspect -f`.

    from hakobune.cli.template import Template, render

    render("{{.Name}} {{json .Config.Labels}}", container_dict)
    template = Template.parse("{{range .Mounts}}{{.Source}} {{end}}")  # parse once,
    for row in rows:                                                     # run many
        text = template.execute(row)

A real lexer, parser and executor (lexer.py, parser.py, executor.py) follow
Go's semantics and error messages; values print as Go's fmt would
(gofmt.py, printf.py); the functions are Go's builtins and docker's
additions (functions.py); `json` writes what Go's encoding/json writes
(gojson.py).  Every failure raises TemplateError, an InvalidArgument whose
message is docker's: `template parsing error: template: :1: ...`.

Data is JSON-shaped Python (dicts are maps, keyed fields; lists; str, int,
float, bool, None) or Python objects (attributes are fields, methods are
called with the action's arguments; `__str__` is Go's String()).  Python
cannot tell which Go type docker would hold a value in, so a few choices
follow docker's typed structs rather than its raw-JSON fallback: ints stay
ints (and compare with floats), `join` takes any list of strings, `index`
of a missing key in a dict of strings gives "" (docker's label maps), and a
None action value prints `<no value>`.

The docker `--format` conventions (`table ...`, `json`, tab-aligned tables)
live in hakobune.cli.template.table.
"""

from hakobune.cli.template.errors import TemplateError
from hakobune.cli.template.functions import DEFAULT_FUNCTIONS, HEADER_FUNCTIONS, Function, python_function
from hakobune.cli.template.values import MISSING

__all__ = [
    "DEFAULT_FUNCTIONS", "HEADER_FUNCTIONS", "MISSING", "Function", "Template", "TemplateError", "render",
]


class Template:
    """A parsed template: its text, its name (docker's are "") and the trees
    of its `define`s and `block`s."""

    __slots__ = ("name", "text", "trees", "functions")

    def __init__(self, name: str, text: str, trees: dict, functions: dict):
        self.name = name
        self.text = text
        self.trees = trees
        self.functions = functions

    @classmethod
    def parse(cls, text: str, name: str = "", functions: dict | None = None) -> "Template":
        """Parse `text`; `functions` adds or replaces functions by name
        (Function objects, or plain callables taking any arguments)."""
        from hakobune.cli.template.parser import parse

        table = _function_table(functions)
        return cls(name, text, parse(text, name, table), table)

    def execute(self, data, functions: dict | None = None, missing_key_error: bool = False) -> str:
        """The template's output for `data`.  `functions` swaps function
        implementations for this run (docker's table headers do);
        `missing_key_error` is Go's missingkey=error option."""
        out: list[str] = []
        self.execute_into(out, data, functions, missing_key_error)
        return "".join(out)

    def execute_into(self, out: list, data, functions: dict | None = None, missing_key_error: bool = False) -> None:
        """Like execute, appending the output's pieces to `out`, which keeps
        what was written before an error."""
        from hakobune.cli.template.executor import execute

        table = self.functions if not functions else {**self.functions, **_function_table(functions, base={})}
        execute(self, out, data, table, missing_key_error)

    def location(self, pos: int) -> str:
        """`NAME:LINE:COLUMN` of a position, the column in bytes from 0."""
        line_start = self.text.rfind("\n", 0, pos) + 1
        line = self.text.count("\n", 0, pos) + 1
        column = len(self.text[line_start:pos].encode("utf-8", "surrogateescape"))
        return f"{self.name}:{line}:{column}"

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _function_table(functions: dict | None, base: dict | None = None) -> dict:
    table = dict(DEFAULT_FUNCTIONS if base is None else base)
    for name, function in (functions or {}).items():
        table[name] = function if isinstance(function, Function) else python_function(function)
    return table


_CACHE: dict[str, Template] = {}
_CACHE_SIZE = 64


def render(text: str, data, name: str = "") -> str:
    """Parse (cached) and execute a template on `data` in one call."""
    key = name + "\0" + text
    template = _CACHE.get(key)
    if template is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        template = _CACHE[key] = Template.parse(text, name)
    return template.execute(data)


