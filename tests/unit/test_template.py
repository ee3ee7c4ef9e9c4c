"""hakobune.cli.template: Go's text/template as docker's --format uses it.

Expected outputs follow Go's documented semantics and what docker CLI 28.2.2
prints (test_template_golden.py holds the cases recorded from it).
"""

import dataclasses
import math
import os
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from hakobune.cli.template import MISSING, Template, TemplateError, render
from hakobune.cli.template.gofmt import format_float, format_value
from hakobune.cli.template.gojson import go_json
from hakobune.cli.template.table import Row, json_lines, parse_format, render_rows, template_text
from hakobune.errors import InvalidArgument

DATA = {
    "Name": "web", "Id": "0b965b060801785a", "Count": 3, "Zero": 0, "Ratio": 0.5, "Empty": "", "Nil": None,
    "On": True, "Off": False, "List": ["a", "b", "c"], "NoList": [], "NoMap": {},
    "Labels": {"tier": "front", "app": "shop"}, "Config": {"Env": ["A=1", "B=2"], "Cmd": ["sh", "-c", "x"]},
    "Ports": [{"Private": 80, "Public": 8080}, {"Private": 443, "Public": None}],
}


def run(text: str, data=DATA, **options) -> str:
    return Template.parse(text).execute(data, **options)


def error_of(text: str, data=DATA) -> str:
    with pytest.raises(TemplateError) as caught:
        run(text, data)
    return str(caught.value)


# Text, actions, trimming, comments


@pytest.mark.parametrize("text, expected", [
    ("plain text", "plain text"),
    ("", ""),
    ("{{.Name}}", "web"),
    ("a {{.Name}} b", "a web b"),
    ("{{ .Name }}", "web"),
    ("{{\n.Name\n}}", "web"),
    ("a  {{- .Name -}}  b", "awebb"),
    ("a \n\t {{- .Name}}", "aweb"),
    ("{{.Name -}}\n\n  x", "webx"),
    ("{{- .Name}}", "web"),
    ("{{3 -}} x", "3x"),
    ("{{-3}}", "-3"),
    ("x{{/* a comment */}}y", "xy"),
    ("x {{- /* trimmed */ -}} y", "xy"),
    ("{{/* multi\nline */}}ok", "ok"),
    ("}} and {{`{{`}}", "}} and {{"),
])
def test_text_actions_trim_markers_and_comments(text, expected):
    assert run(text) == expected


# Fields and printing


@pytest.mark.parametrize("text, expected", [
    ("{{.Count}}", "3"),
    ("{{.Ratio}}", "0.5"),
    ("{{.On}} {{.Off}}", "true false"),
    ("{{.Labels}}", "map[app:shop tier:front]"),
    ("{{.List}}", "[a b c]"),
    ("{{.NoList}} {{.NoMap}}", "[] map[]"),
    ("{{.Ports}}", "[map[Private:80 Public:8080] map[Private:443 Public:<nil>]]"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Nil}}", "<no value>"),
    ("{{.Missing.Deeper}}", "<no value>"),
    ("{{.Config.Env}}", "[A=1 B=2]"),
    ("{{.Labels.tier}}", "front"),
    ("{{.}}", "map[Count:3 Name:x]"),
])
def test_field_values_print_as_go_does(text, expected):
    data = {"Name": "x", "Count": 3} if text == "{{.}}" else DATA
    assert run(text, data) == expected


@pytest.mark.parametrize("value, expected", [
    (1e6, "1e+06"), (100000.0, "100000"), (123456789.0, "1.23456789e+08"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (2.5, "2.5"), (1.0, "1"), (-0.0, "-0"), (1e21, "1e+21"), (0.1, "0.1"),
    (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN"), (5e-324, "5e-324"),
])
def test_floats_print_in_gos_shortest_form(value, expected):
    assert format_value(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_shortest_floats_read_back_exactly(value):
    assert float(format_float(value).replace("+", "")) == value


def test_python_objects_fields_methods_and_printing():
    @dataclasses.dataclass
    class Port:
        Private: int
        Public: int | None

    class Container:
        def __init__(self):
            self.Name = "web"
            self.Port = Port(80, None)
            self._secret = "hidden"

        def Label(self, key):
            return {"tier": "front"}.get(key, "")

        def Names(self):
            return "web,db"

    class Named:
        def __str__(self):
            return "named!"

    container = Container()
    assert run('{{.Name}} {{.Label "tier"}} {{.Names}} {{"tier" | .Label}}', container) == "web front web,db front"
    assert run("{{.Port}} {{.Port.Private}}", container) == "{80 <nil>} 80"
    assert run("{{.}}", Named()) == "named!"
    assert "can't evaluate field Nope in type Container" in error_of("{{.Nope}}", container)
    assert "can't evaluate field _secret in type Container" in error_of("{{._secret}}", container)
    assert "Name has arguments but cannot be invoked as function" in error_of('{{.Name "x"}}', container)


def test_method_failures_are_reported_as_calls():
    class Broken:
        def Size(self):
            raise ValueError("no size")

    assert error_of("{{.Size}}", Broken()).endswith('executing "" at <.Size>: error calling Size: no size')


# Variables


@pytest.mark.parametrize("text, expected", [
    ("{{$x := .Name}}{{$x}}", "web"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ("{{$}}", "map[a:1]"),
    ("{{range .List}}{{$.Count}}{{end}}", "333"),
    ("{{with $x := .Labels}}{{$x.app}}{{end}}", "shop"),
    ("{{$x := 0}}{{range .List}}{{$x = .}}{{end}}{{$x}}", "c"),
    ("{{$y := 1}}{{if 1}}{{$y = 2}}{{$z := 3}}{{end}}{{$y}}", "2"),
    ("{{$x := .Labels}}{{$x.tier}}", "front"),
])
def test_variables(text, expected):
    assert run(text, {"a": 1} if text == "{{$}}" else DATA) == expected


def test_variables_are_scoped_to_their_control_structure():
    assert error_of("{{with $x := 1}}{{end}}{{$x}}") == 'template parsing error: template: :1: undefined variable "$x"'
    assert error_of("{{$y = 3}}").endswith("undefined variable: $y")


# Control structures


@pytest.mark.parametrize("text, expected", [
    ("{{if .Name}}yes{{end}}", "yes"),
    ("{{if .Empty}}yes{{else}}no{{end}}", "no"),
    ("{{if .Zero}}a{{else if .NoList}}b{{else if .Labels}}c{{else}}d{{end}}", "c"),
    ("{{with .Labels}}{{.tier}}{{end}}", "front"),
    ("{{with .Missing}}x{{else}}none{{end}}", "none"),
    ("{{with .Missing}}x{{else with .Name}}{{.}}{{end}}", "web"),
    ("{{range .List}}[{{.}}]{{end}}", "[a][b][c]"),
    ("{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", "0=a 1=b 2=c "),
    ("{{range $e := .List}}{{$e}}{{end}}", "abc"),
    ("{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "app=shop;tier=front;"),
    ("{{range .Labels}}{{.}} {{end}}", "shop front "),
    ("{{range .NoList}}x{{else}}empty{{end}}", "empty"),
    ("{{range .Missing}}x{{else}}nothing{{end}}", "nothing"),
    ("{{range 3}}{{.}}{{end}}", "012"),
    ("{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", "a"),
    ("{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", "ac"),
    ("{{range .Ports}}{{.Private}}->{{.Public}} {{end}}", "80->8080 443-><no value> "),
    ("{{range .Config.Env}}{{range $.List}}{{.}}{{end}}{{end}}", "abcabc"),
])
def test_control_structures(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize("value, truth", [
    (None, False), (MISSING, False), (False, False), (0, False), (0.0, False), ("", False), ([], False),
    ({}, False), (True, True), (1, True), (-1.5, True), ("0", True), ([0], True), ({"a": None}, True), (object(), True),
])
def test_go_truth(value, truth):
    assert run("{{if .v}}t{{else}}f{{end}}", {"v": value}) == ("t" if truth else "f")


def test_define_template_and_block():
    text = '{{define "row"}}<{{.}}>{{end}}{{range .List}}{{template "row" .}}{{end}}'
    assert run(text) == "<a><b><c>"
    assert run('{{block "b" .Name}}[{{.}}]{{end}}') == "[web]"
    assert run('{{define "b"}} {{end}}{{block "b" .}}default{{end}}') == "default"
    assert run('{{define "x"}}{{$}}{{end}}{{template "x" .Count}}') == "3"
    assert run('{{define "x"}}X{{end}}{{template "x"}}') == "X"


def test_errors_inside_a_defined_template_name_it():
    assert error_of('{{define "x"}}{{index .List 9}}{{end}}{{template "x" .}}') == (
        'template parsing error: template: :1:16: executing "x" at <index .List 9>: '
        "error calling index: index out of range: 9")


def test_recursion_is_bounded():
    message = error_of('{{define "loop"}}{{template "loop" .}}{{end}}{{template "loop" .}}')
    assert "exceeded maximum template depth" in message


# Literals


@pytest.mark.parametrize("text, expected", [
    ('{{"a\\tb\\n\\"q\\" \\u00e9 \\x41\\101 \\U0001F600"}}', 'a\tb\n"q" é AA 😀'),
    ("{{`raw\\n{{`}}", "raw\\n{{"),
    ("{{'a'}} {{'\\n'}} {{'é'}}", "97 10 233"),
    ("{{1}} {{-7}} {{+1}} {{1_000}} {{0x1F}} {{0o17}} {{017}} {{0b101}}", "1 -7 1 1000 31 15 15 5"),
    ("{{1.0}} {{1e3}} {{.5}} {{1.5e300}} {{0x1p-2}}", "1 1000 0.5 1.5e+300 0.25"),
    ("{{true}} {{false}}", "true false"),
    ('{{print nil}}', "<nil>"),
])
def test_literals(text, expected):
    assert run(text) == expected


# Functions


@pytest.mark.parametrize("text, expected", [
    ("{{and 1 0 2}}|{{and 1 2}}|{{or 0 \"\" \"x\"}}|{{or 0 \"\"}}", "0|2|x|"),
    ("{{and .Missing (index .List 99)}}", "<no value>"),
    ("{{not .Empty}} {{not .Name}}", "true false"),
    ("{{len .Name}} {{len .List}} {{len .Labels}} {{len \"héllo\"}}", "3 3 2 6"),
    ('{{index .List 1}} {{index .Labels "app"}} {{index .Ports 0 "Public"}} {{index "abc" 1}}', "b shop 8080 98"),
    ('{{index .Config "Cmd" 2}}', "x"),
    ("{{slice .List 1}} {{slice .List 1 2}} {{slice .Name 1}} {{slice .List 0 1 2}}", "[b c] [b] eb [a]"),
    ('{{eq .Name "web"}} {{eq .Count 1 2 3}} {{ne .Count 3}} {{eq .Nil nil}} {{eq .Missing nil}}', "true true false true true"),
    ('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{lt .Ratio 1.5}}', "true true true false true"),
    ('{{print "a" 1 2 "b" .On}}', "a1 2btrue"),
    ("{{println 1 \"x\"}}", "1 x\n"),
    ('{{printf "%s:%d %5.2f|%-6s|%q %v %x" .Name .Count .Ratio "ab" "q" .List 255}}', 'web:3  0.50|ab    |"q" [a b c] ff'),
    ('{{html "<a href=\'x\'>&</a>"}}', "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"),
    ('{{js "it\'s <b>\\"q\\"</b>\\n"}}', "it\\'s \\u003Cb\\u003E\\\"q\\\"\\u003C/b\\u003E\\u000A"),
    ('{{urlquery "a b&c/é"}}', "a+b%26c%2F%C3%A9"),
    ("{{.Name | printf \"%s!\" | len}}", "4"),
    ('{{printf "%s-%s" "x" | printf "%s"}}', "x-%!s(MISSING)"),
])
def test_go_builtin_functions(text, expected):
    assert run(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("{{json .Labels}}", '{"tier":"front","app":"shop"}'),
    ('{{json "<a&b>"}}', '"<a&b>"'),
    ("{{json .Ports}}", '[{"Private":80,"Public":8080},{"Private":443,"Public":null}]'),
    ("{{json .Ratio}} {{json 1e6}} {{json 1e21}} {{json 1e-7}}", "0.5 1000000 1e+21 1e-7"),
    ("{{json .Missing}}", "null"),
    ('{{json "\u2028\\b\\x01é"}}', '"\\u2028\\b\\u0001é"'),
    ('{{split "a,b,c" ","}} {{len (split "" ",")}} {{split "ab" ""}}', "[a b c] 1 [a b]"),
    ('{{join .Config.Cmd " "}} {{join (split "a:b" ":") "/"}}', "sh -c x a/b"),
    ('{{title "hello wORLD foo-bar o\'neil"}}', "Hello WORLD Foo-Bar O'Neil"),
    ('{{lower "MiXeD"}} {{upper "straße"}}', "mixed STRAßE"),
    ('{{pad .Name 2 1}}|{{pad "" 2 1}}|', "  web ||"),
    ('{{truncate .Id 12}} {{truncate "ab" 5}}', "0b965b060801 ab"),
])
def test_docker_functions(text, expected):
    assert run(text) == expected


def test_custom_functions():
    template = Template.parse("{{shout .Name}} {{.Name | shout}}", functions={"shout": lambda s: s.upper() + "!"})
    assert template.execute(DATA) == "WEB! WEB!"


# Deliberate differences from docker's raw-map (inspect fallback) mode, where
# Go decodes every JSON number as float64 and every list as []interface{}.


def test_python_ints_compare_with_template_numbers():
    assert run("{{eq .Count 3}} {{lt .Count 3.5}} {{eq .Ratio 0.5}}") == "true true true"


def test_missing_index_in_a_string_map_is_empty_like_dockers_typed_labels():
    assert run('[{{index .Labels "nope"}}] [{{index .NoMap "nope"}}] {{index .Ports 1 "nope"}}') == "[] [] <no value>"


# Errors


@pytest.mark.parametrize("text, message", [
    ("{{.Name", "template: :1: unclosed action"),
    ("{{.Name }x}}", 'template: :1: unexpected "}" in operand'),
    ("{{.Name}", "template: :1: bad character U+007D '}'"),
    ("{{}}", "template: :1: missing value for command"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if .Name}}", "template: :1: unexpected EOF"),
    ("{{range}}{{end}}", "template: :1: missing value for range"),
    ("{{if 1}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"),
    ("{{nope}}", 'template: :1: function "nope" not defined'),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{(1}}", "template: :1: unclosed left paren"),
    ("{{1)}}", "template: :1: unexpected right paren"),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{1a}}", 'template: :1: bad number syntax: "1a"'),
    ("{{1 | 2}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ('{{define "a"}}A{{end}}{{define "a"}}B{{end}}', 'template: :1: template: multiple definition of template "a"'),
    ("{{/* open", "template: :1: unclosed comment"),
    ('{{"\\q"}}', "template: :1: invalid syntax"),
    ("a\nb\n{{.Name\n\n", "template: :5: unclosed action started at :3"),
    ("a\nb\n{{.Name\n}", 'template: :4: unexpected "}" in operand'),
    ('{{define "b"}}B{{end}}{{block "b" .}}default{{end}}', 'template: :1: template: multiple definition of template "b"'),
    ("{{range $i, $v, $w := .}}{{end}}", "template: :1: too many declarations in range"),
    ("{{if 1}}\n{{/* open", "template: :2: unclosed comment in action started at :1"),
    ("{{if 1}}{{.}}\n{{/* open", "template: :2: unclosed comment"),
    ("{{block .}}", "template: :1: unexpected <.> in block clause"),
    ("{{0x1.5}}", 'template: :1: illegal number syntax: "0x1.5"'),
])
def test_parse_errors_read_like_dockers(text, message):
    with pytest.raises(TemplateError) as caught:
        Template.parse(text)
    assert str(caught.value) == "template parsing error: " + message
    assert caught.value.go_message == message
    assert isinstance(caught.value, InvalidArgument)


@pytest.mark.parametrize("text, message", [
    ("{{.Name.Foo}}", 'template: :1:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type interface {}'),
    ("{{.Nil.Foo}}", 'template: :1:6: executing "" at <.Nil.Foo>: nil pointer evaluating interface {}.Foo'),
    ("{{index .Nil 1}}", 'template: :1:2: executing "" at <index .Nil 1>: error calling index: index of untyped nil'),
    ("{{len 3}}", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
    ("{{not 1 2}}", 'template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 2'),
    ("{{lower 1}}", 'template: :1:8: executing "" at <1>: expected string; found 1'),
    ("{{lower .Count}}", 'template: :1:8: executing "" at <.Count>: wrong type for value; expected string; got int'),
    ("{{lower .Missing}}", 'template: :1:8: executing "" at <.Missing>: invalid value; expected string'),
    ('{{eq .Name 1}}', 'template: :1:2: executing "" at <eq .Name 1>: error calling eq: incompatible types for comparison'),
    ('{{template "nope"}}', 'template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined'),
    ('{{"a" "b"}}', 'template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"'),
    ("{{range .Name}}{{end}}", 'template: :1:8: executing "" at <.Name>: range can\'t iterate over web'),
    ("x\n  {{.Name.Foo}}", 'template: :2:9: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type interface {}'),
])
def test_execution_errors_read_like_dockers(text, message):
    assert error_of(text) == "template parsing error: " + message


def test_missingkey_error_option():
    with pytest.raises(TemplateError) as caught:
        run("{{.Nope}}", missing_key_error=True)
    assert caught.value.go_message.endswith('map has no entry for key "Nope"')


def test_execute_into_keeps_the_output_before_an_error():
    out: list[str] = []
    with pytest.raises(TemplateError):
        Template.parse("a{{.Name}}b{{len 3}}c").execute_into(out, DATA)
    assert "".join(out) == "awebb"


def test_render_parses_once_and_caches():
    assert render("{{.Name}}", DATA) == "web"
    assert render("{{.Name}}", {"Name": "db"}) == "db"


# JSON


@given(st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(), lambda children: st.lists(children) | st.dictionaries(st.text(), children), max_leaves=20))
def test_go_json_is_valid_json_of_the_value(value):
    import json

    def numbers_as_floats(item):
        # Go writes a big float such as 3.9e16 as the integer 39383586788497850.
        if isinstance(item, list):
            return [numbers_as_floats(element) for element in item]
        if isinstance(item, dict):
            return {key: numbers_as_floats(element) for key, element in item.items()}
        return float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item

    assert numbers_as_floats(json.loads(go_json(value))) == numbers_as_floats(value)


def test_go_json_html_escaping_and_sorting():
    assert go_json({"b": "<&>", "a": 1}, escape_html=True, sort_keys=True) == '{"a":1,"b":"\\u003c\\u0026\\u003e"}'
    assert run("{{json .}}", {"x": math.nan}) == ""


# docker's --format conventions


def test_template_text_is_dockers_preformat():
    assert template_text("table {{.ID}}\\t{{.Name}}") == "{{.ID}}\t{{.Name}}"
    assert template_text("  {{.ID}}\\n ") == "{{.ID}}\n"
    assert template_text("json") == "{{json .}}"
    assert template_text("tablex {{.ID}}") == "x {{.ID}}"
    assert parse_format("table {{.ID}}")[0] is True
    assert parse_format("{{.ID}}")[0] is False


HEADERS = {"ID": "CONTAINER ID", "Name": "NAMES", "Status": "STATUS"}
ROWS = [Row(ID="0b965b060801", Name="web", Status="Up 2 minutes", Ports="0.0.0.0:80->80/tcp"),
        Row(ID="1c874e0b4235", Name="db", Status="Exited (0) 2 seconds ago", Ports="")]


def test_render_rows_as_a_table():
    assert render_rows("table {{.ID}}\\t{{.Name}}\\t{{.Status}}", ROWS, HEADERS) == (
        "CONTAINER ID   NAMES     STATUS\n"
        "0b965b060801   web       Up 2 minutes\n"
        "1c874e0b4235   db        Exited (0) 2 seconds ago\n")


def test_table_headers_use_dockers_stand_in_functions_and_stop_at_a_failure():
    text = render_rows('table {{.Name}}\t{{"lit"}}\t{{upper .Name}}\t{{json .Other}}\t{{.ID}}', ROWS[:1], HEADERS)
    assert text == "NAMES     lit       NAMES     \nweb       lit       WEB       null      0b965b060801\n"


def test_render_rows_plain_json_and_default_table():
    assert render_rows("{{.Name}}", ROWS) == "web\ndb\n"
    assert render_rows("table", ROWS, HEADERS, default_table="table {{.ID}}") == "CONTAINER ID\n0b965b060801\n1c874e0b4235\n"
    assert render_rows("json", ROWS[:1]) == (
        '{"ID":"0b965b060801","Name":"web","Ports":"0.0.0.0:80-\\u003e80/tcp","Status":"Up 2 minutes"}\n')
    assert json_lines([{"b": 1, "a": "<"}]) == '{"a":"\\u003c","b":1}\n'
    assert render_rows("table {{.ID}}", [], HEADERS) == "CONTAINER ID\n"


def test_render_rows_raises_before_printing_anything():
    with pytest.raises(TemplateError):
        render_rows("{{.Name}}{{len 1}}", ROWS)


def test_importing_does_not_pull_in_re_or_json():
    # a clean interpreter (-I -S, as the launcher runs): the host's site may import re itself
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = (f"import sys; sys.path.insert(0, {repo!r}); "
              "import hakobune.cli.template.table, hakobune.cli.tabwriter; "
              "from hakobune.cli.template import render; render('{{json .}}{{printf \"%v\" .}}', {'a': 1}); "
              "print(sorted(m for m in ('re', 'json', 'enum', 'dataclasses') if m in sys.modules))")
    output = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True,
                            check=True).stdout
    assert output.strip() == "[]"
