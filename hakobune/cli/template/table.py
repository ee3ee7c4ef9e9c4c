"""docker's `--format` conventions on top of the template engine.

docker (cli/command/formatter) reads a --format value this way:

- `table ...`: a table.  The word "table" is cut off; the rest is the row
  template.  docker renders the template once on the header names (with
  HEADER_FUNCTIONS standing in for json, upper, ..., and ignoring a failure,
  keeping what was written before it), then on every row, and aligns it all
  with tabwriter (minwidth 10, padding 3).
- `json`: each row as `{{json .}}`, one JSON object per line.
- anything else: the row template, each row followed by a newline.

Before parsing, spaces around the template are trimmed and the two-character
sequences `\\t` and `\\n` become a tab and a newline, so that
`--format 'table {{.ID}}\\t{{.Name}}'` works from a shell.

    text = render_rows("table {{.ID}}\\t{{.Name}}", rows, headers={"ID": "CONTAINER ID", "Name": "NAMES"})

Rows are dicts or Python objects.  For `json` rows docker marshals a map of
the row's fields (sorted keys, `<>&` escaped as \\u003c...), which `Row` does.
"""

from hakobune.cli.template import HEADER_FUNCTIONS, Template, TemplateError
from hakobune.cli.template.gojson import go_json

TABLE_PREFIX = "table"
JSON_FORMAT = "json"
JSON_TEMPLATE = "{{json .}}"


class Row(dict):
    """A row whose JSON (`--format json`, `{{json .}}`) is docker's: Go's
    json.Marshal of a map, so keys sorted and HTML characters escaped."""

    __slots__ = ()

    def __json__(self) -> str:
        return go_json(dict(self), escape_html=True, sort_keys=True)


def is_table(format_text: str) -> bool:
    return format_text.startswith(TABLE_PREFIX)


def is_json(format_text: str) -> bool:
    return format_text == JSON_FORMAT


def template_text(format_text: str) -> str:
    """The template docker runs for a --format value (its preFormat)."""
    if is_table(format_text):
        format_text = format_text[len(TABLE_PREFIX):]
    elif is_json(format_text):
        format_text = JSON_TEMPLATE
    return format_text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def parse_format(format_text: str) -> tuple[bool, Template]:
    """Whether a --format value asks for a table, and its parsed template.
    Raises TemplateError (`template parsing error: ...`) for a bad template."""
    return is_table(format_text), Template.parse(template_text(format_text))


def render_header(template: Template, headers) -> str:
    """The header row: the template run on the header names, docker's
    stand-in functions in place; a failure keeps the output so far."""
    out: list[str] = []
    try:
        template.execute_into(out, headers if headers is not None else {}, HEADER_FUNCTIONS)
    except TemplateError:
        pass
    return "".join(out)


def render_rows(format_text: str, rows, headers=None, default_table: str | None = None) -> str:
    """All of a listing's output for a --format value: every row's text and a
    newline, or, for a table, the header and the rows aligned by tabwriter.
    `format_text` "table" alone means `default_table`, the command's default
    table format.  Raises TemplateError before anything is output, as docker
    prints nothing but the error."""
    if format_text == TABLE_PREFIX and default_table is not None:
        format_text = default_table
    table, template = parse_format(format_text)
    out: list[str] = []
    for row in rows:
        template.execute_into(out, row)
        out.append("\n")
    if not table:
        return "".join(out)
    from hakobune.cli.tabwriter import align

    return align(render_header(template, headers) + "\n" + "".join(out))


def json_lines(rows) -> str:
    """`--format json` output: one docker-style JSON object per line."""
    return "".join(_row_json(row) + "\n" for row in rows)


def _row_json(row) -> str:
    if isinstance(row, dict) and not hasattr(row, "__json__"):
        return go_json(row, escape_html=True, sort_keys=True)
    return go_json(row)
