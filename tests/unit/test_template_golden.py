"""Golden cases recorded from the real docker CLI 28.2.2 (Go 1.24 text/template).

MAP_CASES ran with `docker context inspect -f '{{with .Metadata.Metadata.AdditionalFields}}T{{end}}'`
on a context whose metadata held MAP_JSON: inside the `with`, dot is a
map[string]interface{} decoded by encoding/json, the same shape as inspect
data.  Go decodes every JSON number as float64 and holds maps with sorted
keys; `go_decode` gives Python the same view.  Error positions count the
`with` prefix, so the cases run with it too.

RAW_CASES ran as `docker context inspect -f T default`: they are the parse
errors and the outputs that do not depend on the typed context struct docker
executes them on.
"""

import json

import pytest

from hakobune.cli.template import Template, TemplateError

MAP_JSON = ('{"s":"str","i":1,"f":2.5,"n":null,"l":[1,"x"],"m":{"b":1,"a":2},"e":"","t":true,"z":0,"big":1e6,'
            '"ls":["a","b"],"lt":"<a&b>","em":{},"el":[],"nl":[null,{"x":1}],"sm":{"a":"1","b":"2"},'
            '"nested":{"a":[1,{"b":null}],"c":"x"},"bigint":12345678901234}')
WRAP = "{{with .Metadata.Metadata.AdditionalFields}}"
RAW_DATA = {"Name": "default", "Endpoints": {"docker": {"Host": "unix:///var/run/docker.sock", "SkipTLSVerify": False}}}


def go_decode(text: str):
    return json.loads(text, parse_int=float, object_pairs_hook=lambda pairs: dict(sorted(pairs)))


def outcome(text: str, data) -> str:
    try:
        return Template.parse(text).execute(data)
    except TemplateError as error:
        return "ERR " + str(error)


MAP_CASES = [
    ('{{len .missing}}', 'ERR template parsing error: template: :1:46: executing "" at <len .missing>: error calling len: reflect: call of reflect.Value.Type on zero Value'),
    ('{{len .n}}', 'ERR template parsing error: template: :1:46: executing "" at <len .n>: error calling len: len of nil pointer'),
    ('{{len 3}}', 'ERR template parsing error: template: :1:46: executing "" at <len 3>: error calling len: len of type int'),
    ('{{index .m "zz"}}|{{print (index .m "zz")}}', '<no value>|<nil>'),
    ('{{index .n 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .n 1>: error calling index: index of untyped nil'),
    ('{{index .l 5}}', 'ERR template parsing error: template: :1:46: executing "" at <index .l 5>: error calling index: index out of range: 5'),
    ('{{index .l "a"}}', 'ERR template parsing error: template: :1:46: executing "" at <index .l "a">: error calling index: cannot index slice/array with type string'),
    ('{{index .s 1}}', '116'),
    ('{{index .i 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .i 1>: error calling index: can\'t index item of type float64'),
    ('{{index .missing 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .missing 1>: error calling index: index of untyped nil'),
    ('{{slice .l 1}}|{{slice .s 1 2}}|{{slice .l 0 1 2}}', '[x]|t|[1]'),
    ('{{slice .s 3 1}}', 'ERR template parsing error: template: :1:46: executing "" at <slice .s 3 1>: error calling slice: invalid slice index: 3 > 1'),
    ('{{slice .m 1}}', 'ERR template parsing error: template: :1:46: executing "" at <slice .m 1>: error calling slice: can\'t slice item of type map[string]interface {}'),
    ('{{eq .n nil}}', 'true'),
    ('{{eq .s 1}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .s 1>: error calling eq: incompatible types for comparison'),
    ('{{eq .l .l}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .l .l>: error calling eq: non-comparable type [%!s(float64=1) x]: []interface {}'),
    ('{{not 1 2}}', 'ERR template parsing error: template: :1:46: executing "" at <not>: wrong number of args for not: want 1 got 2'),
    ('{{and}}', 'ERR template parsing error: template: :1:46: executing "" at <and>: wrong number of args for and: want at least 1 got 0'),
    ('{{print nil}}|{{print .missing}}|{{print .n}}', '<nil>|<nil>|<nil>'),
    ('{{.missing | print}}', '<nil>'),
    ('{{printf "%d %s %v %q %x %X %t %5d|%-5d|%05d %+d %o %b %c %U %e %E %g %.2f %8.3f %-8.3f| %s" .i .s .m .s .s .s .t .i .i .i .i 8 5 65 65 .f .f .big .f .f .f .l}}', '%!d(float64=1) str map[a:2 b:1] "str" 737472 737472 true %!d(float64=    1)|%!d(float64=1    )|%!d(float64=00001) %!d(float64=+1) 10 101 A U+0041 2.500000e+00 2.500000E+00 1e+06 2.50    2.500 2.500   | [%!s(float64=1) x]'),
    ('{{printf "%d" .s}}|{{printf "%s" .i}}|{{printf "%d"}}|{{printf "%d" 1 2}}|{{printf "%s" .n}}|{{printf "%d" .f}}|{{printf "%z" 1}}', '%!d(string=str)|%!s(float64=1)|%!d(MISSING)|1%!(EXTRA int=2)|%!s(<nil>)|%!d(float64=2.5)|%!z(int=1)'),
    ('{{printf "%v|%s|%d|%q" .l .l .l .ls}}', '[1 x]|[%!s(float64=1) x]|[%!d(float64=1) %!d(string=x)]|["a" "b"]'),
    ('{{printf "%v %v %v %v %v" 1e20 1e21 1e-5 0.0001 123456789.0}}', '1e+20 1e+21 1e-05 0.0001 1.23456789e+08'),
    ('{{printf "%x %X %q %v %T %T %T %T %T %T" .s "héllo" "a\\tb\\u00e9\\x01" .t .i .f .s .l .m .n}}', '737472 68C3A96C6C6F "a\\tbé\\x01" true float64 float64 string []interface {} map[string]interface {} <nil>'),
    ('{{printf "%6.2v|%10s|%-10s|%.2s|%q" .f .s .s .s 65}}', "   2.5|       str|str       |st|'A'"),
    ('{{json .}}', '{"big":1000000,"bigint":12345678901234,"e":"","el":[],"em":{},"f":2.5,"i":1,"l":[1,"x"],"ls":["a","b"],"lt":"<a&b>","m":{"a":2,"b":1},"n":null,"nested":{"a":[1,{"b":null}],"c":"x"},"nl":[null,{"x":1}],"s":"str","sm":{"a":"1","b":"2"},"t":true,"z":0}'),
    ('{{json .lt}}|{{json .f}}|{{json .big}}|{{json 1e21}}|{{json 1e-7}}|{{json "\\u2028\\b\\f\\x01"}}', '"<a&b>"|2.5|1000000|1e+21|1e-7|"\\u2028\\b\\f\\u0001"'),
    ('{{join .l "-"}}', 'ERR template parsing error: template: :1:51: executing "" at <.l>: wrong type for value; expected []string; got []interface {}'),
    ('{{range .m}}{{.}},{{end}}|{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}|{{range $v := .l}}{{$v}}{{end}}|{{range .el}}x{{else}}empty{{end}}|{{range .missing}}x{{else}}nil{{end}}|{{range 3}}{{.}}{{end}}', '2,1,|a=2;b=1;|1x|empty|nil|012'),
    ('{{range .s}}{{.}}{{end}}', 'ERR template parsing error: template: :1:52: executing "" at <.s>: range can\'t iterate over str'),
    ('{{range $i, $c := 3}}{{end}}', 'ERR template parsing error: template: :1:62: executing "" at <3>: can\'t use 3 to iterate over more than one variable'),
    ('{{range .l}}{{break}}{{end}}{{range $i, $v := .ls}}{{if eq $i 0}}{{continue}}{{end}}{{$v}}{{end}}', 'b'),
    ('{{with .missing}}x{{else with .s}}{{.}}{{end}}', 'str'),
    ('{{if .e}}a{{else if .z}}b{{else if .em}}c{{else if .el}}d{{else}}e{{end}}', 'e'),
    ('{{.m}} {{.l}} {{.f}} {{.big}} {{.t}} {{.z}} {{.em}} {{.el}} {{.n}}', 'map[a:2 b:1] [1 x] 2.5 1e+06 true 0 map[] [] <no value>'),
    ('{{"a" "b"}}', 'ERR template parsing error: template: :1:46: executing "" at <"a">: can\'t give argument to non-function "a"'),
    ('{{nil}}', 'ERR template parsing error: template: :1:46: executing "" at <nil>: nil is not a command'),
    ('{{1 | 2}}', 'ERR template parsing error: template: :1: non executable command in pipeline stage 2'),
    ('{{.s 1}}', 'ERR template parsing error: template: :1:46: executing "" at <.s>: s is not a method but has arguments'),
    ('{{.m.a 1}}', 'ERR template parsing error: template: :1:48: executing "" at <.m.a>: a is not a method but has arguments'),
    ('{{$x := 1}}{{$x = 2}}{{$x}}{{$y = 3}}', 'ERR template parsing error: template: :1:78: executing "" at <3>: undefined variable: $y'),
    ('{{template "zz"}}', 'ERR template parsing error: template: :1:55: executing "" at <{{template "zz"}}>: template "zz" not defined'),
    ('{{define "a"}}A{{.}}{{end}}{{template "a" .s}}{{block "b" .i}}B{{.}}{{end}}', 'ERR template parsing error: template: :1: unexpected <define> in command'),
    ('{{html .l}}|{{js "x"}}|{{urlquery .s 1}}|{{html 1 "a"}}', '[1 x]|x|str1|1a'),
    ('{{call .s}}', 'ERR template parsing error: template: :1:46: executing "" at <call .s>: error calling call: non-function .s of type string'),
    ('{{println}}|{{println 1 2}}|{{print}}|{{print "a" 1 2 "b"}}', '\n|1 2\n||a1 2b'),
    ("{{1}} {{1.0}} {{1e3}} {{0x10}} {{'a'}} {{1_000}} {{-1}} {{+1}} {{0b11}} {{0o17}} {{017}} {{1.5e300}} {{0x1p4}}", '1 1 1000 16 97 1000 -1 1 3 15 15 1.5e+300 16'),
    ('{{"\\x41\\u00e9\\101\\n"}}|{{`raw\\n`}}', 'AéA\n|raw\\n'),
    ('{{index .m "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .m "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" 1>: error calling index: index of nil pointer'),
    ('{{js "a\\n\\t`<>&=\'\\"\\\\é\\u2028\\x7f\\x01"}}|{{html "a\\x00<>&\'\\"é"}}|{{urlquery "a b~-_.é/?=&+"}}', 'a\\u000A\\u0009`\\u003C\\u003E\\u0026\\u003D\\\'\\"\\\\é\\u2028\x7f\\u0001|a�&lt;&gt;&amp;&#39;&#34;é|a+b~-_.%C3%A9%2F%3F%3D%26%2B'),
    ('{{printf "%[2]d %[1]s %*d|%-*d|%.*f" "a" 2 5 3 4 7 2 3.14159}}', '2 a  5|4  |%!f(int=0000002)'),
    ('{{printf "%[3]d" 1}}|{{printf "%*d" "x" 1}}|{{printf "%!"}}|{{printf "%"}}|{{printf "%5%"}}', '%!d(BADINDEX)|%!(BADWIDTH)1|%!!(MISSING)|%!(NOVERB)|%'),
    ('{{eq 1 2 3 1}}|{{ne 1 2}}|{{lt "a" "b"}}|{{le 2 2}}|{{gt 3 2}}|{{ge 1 2}}|{{eq "a" "a"}}|{{eq .t true}}|{{eq .n .missing}}|{{eq .s .n}}', 'true|true|true|true|true|false|true|true|true|false'),
    ('{{eq 1}}', 'ERR template parsing error: template: :1:46: executing "" at <eq 1>: error calling eq: missing argument for comparison'),
    ('{{lt .t .t}}', 'ERR template parsing error: template: :1:46: executing "" at <lt .t .t>: error calling lt: invalid type for comparison'),
    ('{{lt .n 1}}', 'ERR template parsing error: template: :1:46: executing "" at <lt .n 1>: error calling lt: invalid type for comparison'),
    ('{{lt .m 1}}', 'ERR template parsing error: template: :1:46: executing "" at <lt .m 1>: error calling lt: invalid type for comparison'),
    ('{{eq .m .m}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .m .m>: error calling eq: non-comparable type map[a:%!s(float64=2) b:%!s(float64=1)]: map[string]interface {}'),
    ('{{ne .i}}', 'ERR template parsing error: template: :1:46: executing "" at <ne>: wrong number of args for ne: want 2 got 1'),
    ('{{printf "%v %d %s" .n .n .n}}|{{printf "%6.2f|%-8v|%08.3f|%+.1e|% d|%x|%X|%#x|%#o|%o" 3.14159 "ab" -3.14159 12345.678 5 255 255 255 8 -8}}', '<nil> %!d(<nil>) %!s(<nil>)|  3.14|ab      |-003.142|+1.2e+04| 5|ff|FF|0xff|010|-10'),
    ('{{printf "%s|%v|%d" .em .em .el}}|{{printf "%q" .m}}|{{printf "%x" .ls}}|{{printf "% x" "abc"}}|{{printf "%#q" "abc"}}|{{printf "%c|%q|%U|%#U" 0x1F600 0x1F600 0x1F600 0x1F600}}', 'map[]|map[]|[]|map["a":%!q(float64=2) "b":%!q(float64=1)]|[61 62]|61 62 63|`abc`|😀|\'😀\'|U+1F600|U+1F600 \'😀\''),
    ('{{printf "%t|%t" 1 .t}}|{{printf "%5t|%-6v|" .t .t}}|{{printf "%v" .lt}}|{{printf "%10.3s|" "abcdef"}}|{{printf "%e|%g|%G|%.3g|%.10g|%g" 0.0 0.0 1e100 1234567.0 123.0 .f}}', '%!t(int=1)|true| true|true  ||<a&b>|       abc||0.000000e+00|0|1E+100|1.23e+06|123|2.5'),
    ('{{printf "%.0f %.0f %.0f %.1f" 0.5 1.5 2.5 0.05}}|{{printf "%5.1f|%-7.2f|%07.2f" -2.25 2.0 -1.5}}|{{printf "%d|%x|%o|%b" -5 -255 -8 -5}}|{{printf "%08d|%-08d|%+08d|%.3d|%8.3d" -42 42 42 7 7}}', '0 2 2 0.1| -2.2|2.00   |-001.50|-5|-ff|-10|-101|-0000042|42      |+0000042|007|     007'),
    ('{{printf "%v" 1e6}} {{printf "%v" 100000.0}} {{printf "%v" 1e-4}} {{printf "%v" 0.000012345}} {{printf "%v" 1.5e-7}} {{printf "%v" 12345678.9}} {{printf "%v" -0.0}} {{printf "%.2v" 1234.5}}', '1e+06 100000 0.0001 1.2345e-05 1.5e-07 1.23456789e+07 -0 1.2e+03'),
    ('{{html}}|{{js}}|{{urlquery}}|{{print .l .m}}|{{print 1 .s}}|{{print .s .s}}|{{print 1 2}}|{{print .t .t}}|{{print .l .l}}|{{println .s .l}}', '|||[1 x] map[a:2 b:1]|1str|strstr|1 2|true true|[1 x] [1 x]|str [1 x]\n'),
    ('{{.s | printf "%s-%s" "x"}}|{{.s | print}}|{{.s | len}}|{{(index .l 1) | printf "%q"}}|{{.m.a | printf "%v"}}', 'x-str|str|3|"x"|2'),
    ('{{lower 1}}', 'ERR template parsing error: template: :1:52: executing "" at <1>: expected string; found 1'),
    ('{{lower .i}}', 'ERR template parsing error: template: :1:52: executing "" at <.i>: wrong type for value; expected string; got float64'),
    ('{{lower .missing}}', 'ERR template parsing error: template: :1:52: executing "" at <.missing>: invalid value; expected string'),
    ('{{lower nil}}', 'ERR template parsing error: template: :1:52: executing "" at <nil>: cannot assign nil to string'),
    ('{{pad "x" "a" 1}}', 'ERR template parsing error: template: :1:54: executing "" at <"a">: expected integer; found "a"'),
    ('{{pad "x" .s 1}}', 'ERR template parsing error: template: :1:54: executing "" at <.s>: wrong type for value; expected int; got string'),
    ('{{pad "x" 1.5 1}}', 'ERR template parsing error: template: :1:54: executing "" at <1.5>: expected integer; found 1.5'),
    ('{{truncate .s .i}}', 'ERR template parsing error: template: :1:58: executing "" at <.i>: wrong type for value; expected int; got float64'),
    ('{{split .s}}', 'ERR template parsing error: template: :1:46: executing "" at <split>: wrong number of args for split: want 2 got 1'),
    ('{{json}}|{{json nil}}|{{json .missing}}|{{json 1 2}}', 'ERR template parsing error: template: :1:46: executing "" at <json>: wrong number of args for json: want 1 got 0'),
    ('{{index .l}}|{{index .m "a"}}|{{index .ls 1}}|{{index .l 1.0}}', 'ERR template parsing error: template: :1:92: executing "" at <index .l 1.0>: error calling index: cannot index slice/array with type float64'),
    ('{{index .l nil}}', 'ERR template parsing error: template: :1:46: executing "" at <index .l nil>: error calling index: cannot index slice/array with nil'),
    ('{{index .l -1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .l -1>: error calling index: index out of range: -1'),
    ('{{slice .l}}|{{slice .l 1 2}}|{{slice .ls 0 1 1}}|{{slice .s 1 2 3}}', 'ERR template parsing error: template: :1:96: executing "" at <slice .s 1 2 3>: error calling slice: cannot 3-index slice a string'),
    ('{{slice .l 0 1 2 3}}', 'ERR template parsing error: template: :1:46: executing "" at <slice .l 0 1 2 3>: error calling slice: too many slice indexes: 4'),
    ('{{slice .l 3}}', 'ERR template parsing error: template: :1:46: executing "" at <slice .l 3>: error calling slice: index out of range: 3'),
    ('{{slice .l 1 0}}', 'ERR template parsing error: template: :1:46: executing "" at <slice .l 1 0>: error calling slice: invalid slice index: 1 > 0'),
    ('{{len .s}}|{{len .m}}|{{len .l}}|{{len .em}}', '3|2|2|0'),
    ('{{not .e}}|{{not .s}}|{{not .n}}|{{not .missing}}|{{and .s .i}}|{{or .e .el .em}}|{{and .missing 1}}|{{or .n}}', 'true|false|true|true|1|map[]|<no value>|<no value>'),
    ('{{range $k, $v := .m}}{{$k}}{{end}}{{range $v := .m}}{{$v}}{{end}}{{range $i, $x := .ls}}{{$i}}{{$x}}{{end}}', 'ab210a1b'),
    ('{{range $i := 3}}{{$i}}{{end}}|{{range -1}}x{{else}}neg{{end}}|{{range 0}}{{else}}zero{{end}}', '012|neg|zero'),
    ('{{$x := 0}}{{range .ls}}{{$x = .}}{{end}}{{$x}}|{{$y := 1}}{{if 1}}{{$y = 2}}{{$z := 3}}{{end}}{{$y}}', 'b|2'),
    ('{{.n.x}}', 'ERR template parsing error: template: :1:48: executing "" at <.n.x>: nil pointer evaluating interface {}.x'),
    ('{{.zz.x}}|{{.zz.x.y}}', '<no value>|<no value>'),
    ('{{$v := .n}}{{$v.x}}', '<no value>'),
    ('{{$v := .zz}}{{$v.x}}', '<no value>'),
    ('{{range .l}}{{.}}{{end}}', '1x'),
    ('{{range .nl}}[{{.}}]{{end}}', '[<no value>][map[x:1]]'),
    ('{{range .nl}}{{.x}}{{end}}', 'ERR template parsing error: template: :1:59: executing "" at <.x>: nil pointer evaluating interface {}.x'),
    ('{{range $i, $v := .nl}}{{$i}}{{$v}}{{end}}', '0<no value>1map[x:1]'),
    ('{{with .n}}x{{else}}nil{{end}}|{{if .n}}x{{else}}nil{{end}}', 'nil|nil'),
    ('{{index .sm 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .sm 1>: error calling index: value has type int; should be string'),
    ('{{index .m nil}}', 'ERR template parsing error: template: :1:46: executing "" at <index .m nil>: error calling index: value is nil; should be of type string'),
    ('{{index .nl 0}}|{{index .nl 0 | print}}', '<no value>|<nil>'),
    ('{{index .nl 0 "x"}}', 'ERR template parsing error: template: :1:46: executing "" at <index .nl 0 "x">: error calling index: index of nil pointer'),
    ('{{eq .n nil}}|{{eq .zz nil}}|{{eq nil nil}}|{{ne .s nil}}|{{eq .s "str" "x"}}|{{eq "x" .s "str"}}', 'true|true|true|true|true|false'),
    ('{{eq .l .m}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .l .m>: error calling eq: non-comparable types [%!s(float64=1) x]: []interface {}, map[string]interface {}: map[a:2 b:1]'),
    ('{{eq .m 1}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .m 1>: error calling eq: incompatible types for comparison'),
    ('{{eq .s .l}}', 'ERR template parsing error: template: :1:46: executing "" at <eq .s .l>: error calling eq: incompatible types for comparison'),
    ('{{lt .s .l}}', 'ERR template parsing error: template: :1:46: executing "" at <lt .s .l>: error calling lt: invalid type for comparison'),
    ('{{json .nl}}|{{json .sm}}|{{json .m.zz}}', '[null,{"x":1}]|{"a":"1","b":"2"}|null'),
    ('{{printf "%v" .nl}}|{{print .nl}}|{{.nl}}', '[<nil> map[x:1]]|[<nil> map[x:1]]|[<nil> map[x:1]]'),
    ('{{len .nl}}|{{slice .nl 1}}', '2|[map[x:1]]'),
    ('{{range $k, $v := .sm}}{{$k}}={{$v}},{{end}}', 'a=1,b=2,'),
    ('{{range .sm}}{{.}}{{end}}', '12'),
    ('{{with .sm}}{{.b}}{{end}}', '2'),
    ('{{.sm.b | printf "%s!" | upper}}', '2!'),
    ('{{if and .s .l .m}}yes{{end}}|{{if or .e .z .n .el}}yes{{else}}no{{end}}', 'yes|no'),
    ('{{.f | printf "%.1f"}}|{{.f | printf "%T"}}', '2.5|float64'),
    ('{{printf "%s" .l}}', '[%!s(float64=1) x]'),
    ('{{printf "%v" .m.a}}', '2'),
    ('{{slice .s 0 0}}|{{slice .s 3}}|{{slice .s 0 4}}', 'ERR template parsing error: template: :1:78: executing "" at <slice .s 0 4>: error calling slice: index out of range: 4'),
    ('{{.m.a.b}}', 'ERR template parsing error: template: :1:48: executing "" at <.m.a.b>: can\'t evaluate field b in type interface {}'),
    ('{{.l.x}}', 'ERR template parsing error: template: :1:48: executing "" at <.l.x>: can\'t evaluate field x in type interface {}'),
    ('{{index .l 0 1}}', 'ERR template parsing error: template: :1:46: executing "" at <index .l 0 1>: error calling index: can\'t index item of type float64'),
    ('{{printf "%05s|%-05s|%5.1q|%x|% X|%#x" "ab" "ab" "abc" "" "hi" "hi"}}', '000ab|ab   |  "a"||68 69|0x6869'),
    ('{{printf "%+q|%#q|%q" "é\\x01" "a`b" "\\u2028"}}', '"\\u00e9\\x01"|"a`b"|"\\u2028"'),
    ('{{printf "%c%c" 72 105}}|{{printf "%5c|%-3c|" 65 66}}|{{printf "%U" -1}}', 'Hi|    A|B  ||U+FFFFFFFFFFFFFFFF'),
    ('{{printf "%08.3e|%+g|% g|%+.2f|% 8.2f|%-+8.2f|" 1234.5 1.5 1.5 -1.0 2.0 2.0}}', '1.234e+03|+1.5| 1.5|-1.00|    2.00|+2.00   |'),
    ('{{printf "%e|%E|%f|%F|%g" 1e300 1e-300 1e20 0.1 1e-7}}', '1.000000e+300|1.000000E-300|100000000000000000000.000000|0.100000|1e-07'),
    ('{{printf "%6v|%-6v|%06v" 1 2 3}}', '     1|2     |000003'),
    ('{{printf "%t" "x"}}|{{printf "%v %v" true false}}|{{printf "%d" true}}', '%!t(string=x)|true false|%!d(bool=true)'),
    ('{{printf "%s %[1]q %[2]*[1]d" "x" 4}}', 'x "x" %!d(string=   x)'),
    ('{{printf "%[0]d" 1}}|{{printf "%[x]d" 1}}|{{printf "%[1]" 1}}|{{printf "%[2]d %d" 1 2}}', '%!d(BADINDEX)|%!d(BADINDEX)|%!(NOVERB)|2 %!d(MISSING)'),
    ('{{printf "%.*d|%.*s" 3 5 1 "abc"}}|{{printf "%-*d|" -4 1}}|{{printf "%.*d" -1 5}}', '005|a|1   ||%!(BADPREC)5'),
    ('{{printf "%3.1v|%.0v|%.3v" 1.25 1.5 "abcdef"}}', '  1|2|abc'),
    ('{{printf "%x|%X|%o|%b|%#b|%O" 3.5 -1 -1 -1 5 8}}', '0x1.cp+01|-1|-1|-1|0b101|0o10'),
    ('{{printf "%v|%d" .nested .nested}}', 'map[a:[1 map[b:<nil>]] c:x]|map[%!d(string=a):[%!d(float64=1) map[%!d(string=b):<nil>]] %!d(string=c):%!d(string=x)]'),
    ('{{printf "%q" .nested}}', 'map["a":[%!q(float64=1) map["b":<nil>]] "c":"x"]'),
    ('{{printf "%5v|%-5v|" .l .l}}', '[    1     x]|[1     x    ]|'),
    ('{{printf "%.2f" .l}}', '[1.00 %!f(string=x)]'),
    ('{{printf "%v" 0.1}} {{printf "%v" 1.0e-10}} {{printf "%v" 123456.7}} {{printf "%v" 1234567.0}} {{printf "%v" 3.0e21}} {{printf "%v" 5e-324}} {{printf "%v" 1.7976931348623157e308}}', '0.1 1e-10 123456.7 1.234567e+06 3e+21 5e-324 1.7976931348623157e+308'),
    ('{{json 0.1}} {{json 1e-10}} {{json 123456.7}} {{json 1e20}} {{json 3e21}} {{json 5e-324}} {{json -0.0}} {{json 1.7976931348623157e308}} {{json 0.000001}} {{json 0.0000001}}', '0.1 1e-10 123456.7 100000000000000000000 3e+21 5e-324 -0 1.7976931348623157e+308 0.000001 1e-7'),
    ('{{printf "%v|%.3g|%g|%e" 100000000.0 100000.0 0.00001 0.0}}', '1e+08|1e+05|1e-05|0.000000e+00'),
    ('{{printf "%10.4v|%-10.3v|" 3.14159 "abcdef"}}', '     3.142|abc       |'),
    ('{{printf "%d" .bigint}} {{.bigint}}', '%!d(float64=1.2345678901234e+13) 1.2345678901234e+13'),
    ('{{printf "%s" "x" "y"}}|{{printf "" nil}}|{{printf "%d %d" 1}}', 'x%!(EXTRA string=y)|%!(EXTRA <nil>)|1 %!d(MISSING)'),
    ('{{printf "%!" 1}}|{{printf "%-" 1}}|{{printf "abc%"}}', '%!!(int=1)|%!(NOVERB)%!(EXTRA int=1)|abc%!(NOVERB)'),
    ('{{printf "%v" "\\x00"}}|{{printf "%q" "\\x7f\\u0080\\ufeff"}}', '\x00|"\\x7f\\u0080\\ufeff"'),
    ('{{printf "%T %T" .nested .n}}', 'map[string]interface {} <nil>'),
    ('{{range $i, $v := .nl}}{{$i}}{{$v}}{{end}}|{{range .nl}}[{{.}}]{{end}}', '0<no value>1map[x:1]|[<no value>][map[x:1]]'),
    ('{{range $k, $v := .nested}}{{$k}}:{{$v}};{{end}}', 'a:[1 map[b:<nil>]];c:x;'),
    ('{{.nested.a}}|{{index .nested.a 1 "b"}}|{{index .nested "a" 0}}', '[1 map[b:<nil>]]|<no value>|1'),
    ('{{json .nested}}|{{json .sm}}|{{json .nl}}', '{"a":[1,{"b":null}],"c":"x"}|{"a":"1","b":"2"}|[null,{"x":1}]'),
    ('{{printf "%v|%+v|%s" .nested .sm .sm}}', 'map[a:[1 map[b:<nil>]] c:x]|map[a:1 b:2]|map[a:1 b:2]'),
    ('{{len .nested}}|{{len .sm}}|{{len .nl}}', '2|2|2'),
    ('{{.bigint}}|{{printf "%d" .bigint}}|{{json .bigint}}', '1.2345678901234e+13|%!d(float64=1.2345678901234e+13)|12345678901234'),
    ('{{.nested.c | upper}}|{{.sm.a | printf "%s%s" "x"}}', 'X|x1'),
    ('{{with $x := .sm}}{{$x.a}}{{$x.b}}{{end}}', '12'),
    ('{{with .nested}}{{with .a}}{{index . 0}}{{end}}{{end}}', '1'),
    ('{{if and .sm (not .em)}}ok{{end}}', 'ok'),
    ('{{range .ls}}{{if eq . "b"}}B{{else}}{{.}}{{end}}{{end}}', 'aB'),
    ('{{range $i, $e := .ls}}{{if $i}},{{end}}{{$e}}{{end}}', 'a,b'),
    ('{{$n := len .ls}}{{range $i, $e := .ls}}{{$e}}{{if lt $i 1}}+{{end}}{{end}}/{{$n}}', 'a+b/2'),
    ('{{join (split "a:b:c" ":") "/"}}|{{index (split "a:b:c" ":") 1}}|{{len (split "a:b:c" ":")}}', 'a/b/c|b|3'),
    ('{{title "docker container ls"}}|{{upper .s}}|{{lower "MiXeD"}}|{{truncate .s 2}}|{{pad .s 1 0}}|', 'Docker Container Ls|STR|mixed|st| str|'),
    ('{{println .s}}{{println}}', 'str\n\n'),
    ('{{.m.a}} {{.m.b}} {{.m}} {{.n}} {{.t}} {{.f}}', '2 1 map[a:2 b:1] <no value> true 2.5'),
    ('{{html .lt}}|{{js .lt}}|{{urlquery .lt}}', '&lt;a&amp;b&gt;|\\u003Ca\\u0026b\\u003E|%3Ca%26b%3E'),
    ('{{printf "%s=%v" "k" .m}}', 'k=map[a:2 b:1]'),
    ('{{.sm | len}}', '2'),
    ('{{"str" | eq .s}}|{{1.0 | eq .i}}', 'true|true'),
    ('{{if .sm.a}}{{.sm.a}}{{end}}{{if .sm.zz}}z{{else}}-{{end}}', '1-'),
]
RAW_CASES = [
    ('{{define "a"}}A{{.}}{{end}}{{template "a" .Name}}{{block "b" 1}}B{{.}}{{end}}|{{template "b" 2}}', 'AdefaultB1|B2'),
    ('{{define "a"}}A{{end}}{{define "a"}}B{{end}}', 'ERR template parsing error: template: :1: template: multiple definition of template "a"'),
    ('{{json (split "a,b" ",")}}|{{len (split "" ",")}}|{{split "abc" ""}}', '["a","b"]|1|[a b c]'),
    ('{{.Name}', "ERR template parsing error: template: :1: bad character U+007D '}'"),
    ('{{.Name }x}}', 'ERR template parsing error: template: :1: unexpected "}" in operand'),
    ('{{}}', 'ERR template parsing error: template: :1: missing value for command'),
    ('{{ }}', 'ERR template parsing error: template: :1: missing value for command'),
    ('{{end}}', 'ERR template parsing error: template: :1: unexpected {{end}}'),
    ('{{else}}', 'ERR template parsing error: template: :1: unexpected {{else}}'),
    ('{{if .Name}}', 'ERR template parsing error: template: :1: unexpected EOF'),
    ('{{if}}{{end}}', 'ERR template parsing error: template: :1: missing value for if'),
    ('{{range}}{{end}}', 'ERR template parsing error: template: :1: missing value for range'),
    ('{{with}}{{end}}', 'ERR template parsing error: template: :1: missing value for with'),
    ('{{if 1}}{{else}}{{else}}{{end}}', 'ERR template parsing error: template: :1: expected end; found {{else}}'),
    ('{{if 1}}{{end}}{{end}}', 'ERR template parsing error: template: :1: unexpected {{end}}'),
    ('{{$x}}', 'ERR template parsing error: template: :1: undefined variable "$x"'),
    ('{{foo}}', 'ERR template parsing error: template: :1: function "foo" not defined'),
    ('{{(1}}', 'ERR template parsing error: template: :1: unclosed left paren'),
    ('{{1)}}', 'ERR template parsing error: template: :1: unexpected right paren'),
    ('{{.Name |}}', 'default'),
    ('{{| .Name}}', 'ERR template parsing error: template: :1: unexpected "|" in command'),
    ('{{"abc}}', 'ERR template parsing error: template: :1: unterminated quoted string'),
    ('{{`abc}}', 'ERR template parsing error: template: :1: unterminated raw quoted string'),
    ("{{'ab'}}", "ERR template parsing error: template: :1: malformed character constant: 'ab'"),
    ('{{1a}}', 'ERR template parsing error: template: :1: bad number syntax: "1a"'),
    ('{{.Name #}}', 'ERR template parsing error: template: :1: unexpected "#" in operand'),
    ('{{/* comment */}}x{{/*c*/ -}}   y   {{- /* c */}}z', 'xyz'),
    ('{{/* unclosed }}', 'ERR template parsing error: template: :1: unclosed comment'),
    ('{{/* c */ .Name}}', 'ERR template parsing error: template: :1: comment ends before closing delimiter'),
    ('a  {{- .Name -}}  b', 'adefaultb'),
    ('a  {{-.Name}}', 'ERR template parsing error: template: :1: bad number syntax: "-.N"'),
    ('{{3 -}}  x', '3x'),
    ('{{-3}}', '-3'),
    ('{{break}}', 'ERR template parsing error: template: :1: {{break}} outside {{range}}'),
    ('{{range .Name}}{{break 1}}{{end}}', 'ERR template parsing error: template: :1: unexpected "1" in {{break}}'),
    ('{{define "x"}}{{else}}{{end}}', 'ERR template parsing error: template: :1: unexpected {{else}} in define clause'),
    ('{{template 1}}', 'ERR template parsing error: template: :1: unexpected "1" in template clause'),
    ('{{template "x" 1 2}}', 'ERR template parsing error: template: :1:11: executing "" at <{{template "x" 1 2}}>: template "x" not defined'),
    ('{{range $i, $v, $w := .}}{{end}}', 'ERR template parsing error: template: :1: too many declarations in range'),
    ('{{range $i, 1}}{{end}}', 'ERR template parsing error: template: :1: range can only initialize variables'),
    ('{{$x := 1 2}}', 'ERR template parsing error: template: :1:8: executing "" at <1>: can\'t give argument to non-function 1'),
    ('{{with $x := 1}}{{$x}}{{end}}{{$x}}', 'ERR template parsing error: template: :1: undefined variable "$x"'),
    ('{{printf "%s" "a" | printf "%s|%s" "b"}}', 'b|a'),
    ('{{"x" | printf}}', 'x'),
    ('{{1.2.3}}', 'ERR template parsing error: template: :1: unexpected ".3" in operand'),
    ('{{0x}}', 'ERR template parsing error: template: :1: illegal number syntax: "0x"'),
    ('{{nil.Foo}}', 'ERR template parsing error: template: :1: unexpected . after term "nil"'),
    ('{{"a".Foo}}', 'ERR template parsing error: template: :1: unexpected . after term "\\"a\\""'),
    ('{{and 0 (index . 1)}}|{{or 1 (index . 1)}}|{{and 1 "x"}}|{{or 0 ""}}', '0|1|x|'),
    ('{{if and .Name 0}}y{{else}}n{{end}}', 'n'),
    ('{{.Name | len | printf "%05d"}}', '00007'),
    ('{{"a\\qb"}}', 'ERR template parsing error: template: :1: invalid syntax'),
    ('{{define "x"}}1{{end}}{{define "x"}}{{end}}{{template "x"}}', '1'),
    ('{{ define "x" }}{{end}}', ''),
    ('{{else if 1}}', 'ERR template parsing error: template: :1: unexpected {{else}}'),
    ('{{if 1}}a{{else if 0}}b{{end}}', 'a'),
    ('{{range .Endpoints}}{{else if 1}}{{end}}', 'ERR template parsing error: template: :1: unexpected <if> in input'),
    ('{{with 1}}{{else if 0}}{{end}}', 'ERR template parsing error: template: :1: unexpected <if> in input'),
    ('{{define "x"}}\n{{.Name | printf "%d"}}{{index .Name 99}}{{end}}{{template "x" .}}', 'ERR template parsing error: template: :2:25: executing "x" at <index .Name 99>: error calling index: index out of range: 99'),
    ('a\nb {{.Name\n', 'ERR template parsing error: template: :3: unclosed action started at :2'),
    ('a\n{{if 1}}\nb', 'ERR template parsing error: template: :3: unexpected EOF'),
    ('{{/* a\nmulti-line comment */}}ok', 'ok'),
    ('{{"a"\n|\nprintf "%s"}}', 'a'),
    ('{{- "x" -}}\n\n  {{- "y"}}', 'xy'),
    (' \\t\n{{- 1 }}', ' \\t1'),
    ('{{1 -}}\n \\t{{2}}', '1\\t2'),
    ('{{$x := .Name}}{{define "y"}}{{$x}}{{end}}', 'ERR template parsing error: template: :1: undefined variable "$x"'),
    ('{{template "y" . }}{{define "y"}}Y{{.Name}}{{end}}', 'Ydefault'),
    ('{{block "b" .}}{{.Name}}{{end}}{{define "b"}}override{{end}}', 'ERR template parsing error: template: :1: template: multiple definition of template "b"'),
    ('{{define "b"}}override{{end}}{{block "b" .}}{{.Name}}{{end}}', 'ERR template parsing error: template: :1: template: multiple definition of template "b"'),
    ('{{range $i, $e := .Endpoints}}{{$i}}:{{$e.Host}}{{end}}', 'docker:unix:///var/run/docker.sock'),
    ('{{with $e := .Endpoints.docker}}{{$e.Host}}{{$.Name}}{{end}}', 'unix:///var/run/docker.sockdefault'),
    ('{{if not .Name}}a{{else if eq .Name "default"}}b{{end}}', 'b'),
    ('{{range .Endpoints}}{{break}}{{else}}e{{end}}', ''),
    ('{{range $k, $v := .Endpoints}}{{continue}}x{{end}}', ''),
    ('{{len .Endpoints}}|{{len .Name}}', '1|7'),
    ('{{ .Name | printf "%s" | printf "%q" }}', '"default"'),
    ('{{"\\u00e9\\U0001F600\\x41\\101\\a\\b\\f\n\\r\\t\\v\\\\\\"" | printf "%q"}}', 'ERR template parsing error: template: :1: unterminated quoted string'),
    ("{{'\n'}} {{'\\''}} {{'\\x41'}} {{'é'}}", 'ERR template parsing error: template: :1: unterminated character constant'),
    ('{{"\\\'"}}', 'ERR template parsing error: template: :1: invalid syntax'),
    ('{{\'\\"\'}}', 'ERR template parsing error: template: :1: invalid syntax'),
    ("{{'ab}}", 'ERR template parsing error: template: :1: unterminated character constant'),
    ("{{''}}", 'ERR template parsing error: template: :1: invalid syntax'),
    ('{{99999999999999999999}}', 'ERR template parsing error: template: :1: integer overflow: "99999999999999999999"'),
    ('{{0x1p-2}} {{1e400}}', 'ERR template parsing error: template: :1: illegal number syntax: "1e400"'),
    ('{{printf "%v" -0x1E}} {{0_17}} {{08}}', 'ERR template parsing error: template: :1: integer overflow: "08"'),
    ('{{.Name |printf "%s"|len}}', '7'),
    ('{{printf "%s" (.Name)}}{{(printf "%s" .Name) | len}}', 'default7'),
    ('{{(.Endpoints).docker.Host}}', 'unix:///var/run/docker.sock'),
    ('{{$.Endpoints.docker.Host}}', 'unix:///var/run/docker.sock'),
    ('{{$x := 1}}{{$x := 2}}{{$x}}', '2'),
    ('{{with 0}}{{else}}{{$y := 1}}{{$y}}{{end}}', '1'),
    ('{{range 2}}{{$z := .}}{{$z}}{{end}}', '01'),
    ('{{if 1}}{{$q := 5}}{{end}}{{$q}}', 'ERR template parsing error: template: :1: undefined variable "$q"'),
    ('{{ else }}', 'ERR template parsing error: template: :1: unexpected {{else}}'),
    ('{{ $x := 1 }}{{ if $x }}{{ $x = 2 }}{{ end }}{{ $x }}', '2'),
    ('{{.Name -}} x', 'defaultx'),
    ('{{.Name- }}', "ERR template parsing error: template: :1: bad character U+002D '-'"),
    ('{{-.Name}}', 'ERR template parsing error: template: :1: bad number syntax: "-.N"'),
    ('{{- .Name}}', 'default'),
    ('{{.Name}}{{/* c */ -}}  \n  z', 'defaultz'),
    ('{{/**/}}', ''),
    ('{{/* a */}}{{/* b */ }}', 'ERR template parsing error: template: :1: comment ends before closing delimiter'),
    ('{{ /* c */ }}', 'ERR template parsing error: template: :1: unexpected "/" in command'),
    ('{{and 1 0 | not}}', 'true'),
    ('{{1 | and 0}}', '0'),
    ('{{printf "%d%%" 50}}', '50%'),
    ('{{print "a" nil 1}}', 'a<nil> 1'),
    ('{{println nil}}', '<nil>\n'),
    ('{{slice "hello" 1}}|{{slice "hello" 1 5}}|{{slice "hello" 5}}', 'ello|ello|'),
    ('{{html "<>" 1}}|{{urlquery "a" "b c"}}', '&lt;&gt;1|ab+c'),
    ('{{call 1}}', 'ERR template parsing error: template: :1:2: executing "" at <call 1>: error calling call: non-function 1 of type int'),
    ('{{call}}', 'ERR template parsing error: template: :1:2: executing "" at <call>: wrong number of args for call: want at least 1 got 0'),
    ('{{eq}}', 'ERR template parsing error: template: :1:2: executing "" at <eq>: wrong number of args for eq: want at least 1 got 0'),
    ('{{nil | print}}', 'ERR template parsing error: template: :1:2: executing "" at <nil>: nil is not a command'),
    ('{{.Name}}', 'default'),
    ('{{ .Name }}', 'default'),
    ('{{.Endpoints.docker.Host}}', 'unix:///var/run/docker.sock'),
    ('{{range $k, $v := .Endpoints}}{{$k}}={{$v.Host}}{{end}}', 'docker=unix:///var/run/docker.sock'),
    ('{{if eq .Name "default"}}yes{{else}}no{{end}}', 'yes'),
    ('{{.Name | printf "%q"}}', '"default"'),
    ('{{json .Endpoints.docker.Host}}', '"unix:///var/run/docker.sock"'),
    ('{{with .Endpoints.docker}}{{.SkipTLSVerify}}{{end}}', 'false'),
    ('{{.Name}}\n{{.Name}}', 'default\ndefault'),
    ('{{- .Name -}}\n', 'default'),
    ('x {{- /* trimmed */ -}} y', 'xy'),
    ('{{range .Endpoints}}{{.Host}}{{end}}', 'unix:///var/run/docker.sock'),
]


@pytest.mark.parametrize("text, expected", MAP_CASES)
def test_map_data_like_docker(text, expected):
    data = {"Metadata": {"Metadata": {"AdditionalFields": go_decode(MAP_JSON)}}}
    assert outcome(WRAP + text + "{{end}}", data) == expected


@pytest.mark.parametrize("text, expected", RAW_CASES)
def test_templates_like_docker(text, expected):
    assert outcome(text, RAW_DATA) == expected


# Cases from /work/shared/reference/engine-api: the Engine API's answers fed
# through docker's formats, against what docker CLI 28.2.2 printed.

EVENT_BODY = (
    '{"status":"die","id":"f66020d1ffdab6bac60e440fc7ad652b66fe2e05faf7b512658b1b683c78b6a6","from":"busybox:local",'
    '"Type":"container","Action":"die","Actor":{"ID":"f66020d1ffdab6bac60e440fc7ad652b66fe2e05faf7b512658b1b683c78b6a6",'
    '"Attributes":{"apirec":"1","exitCode":"0","image":"busybox:local","name":"apirec-ev"}},"scope":"local",'
    '"time":1795897574,"timeNano":1795897574627401186}')
# docker events --filter container=apirec-ev --filter event=die --format '{{json .}}' (output cut in the recording)
EVENT_OUTPUT_START = ('{"status":"die","id":"f66020d1ffdab6bac60e440fc7ad652b66fe2e05faf7b512658b1b683c78b6a6",'
                      '"from":"busybox:local","Type":"container","Action":"die","Actor":{"ID":'
                      '"f66020d1ffdab6bac60e440fc7ad652b66fe2e05faf7b512658b1b683c78')


def test_events_json_format():
    event = json.loads(EVENT_BODY)
    line = Template.parse("{{json .}}").execute(event)
    assert line == EVENT_BODY
    assert line.startswith(EVENT_OUTPUT_START)
    assert Template.parse("{{.Actor.Attributes.name}} {{.Action}} {{.timeNano}}").execute(event) == (
        "apirec-ev die 1795897574627401186")


NETWORKS = [  # GET /networks, the fields docker network ls shows
    {"Name": "apirec-net", "Id": "8e5d44461122e82d6e579427c6f433f977643fa6ef46ff76ae5e570203800c37",
     "Scope": "local", "Driver": "bridge"},
    {"Name": "none", "Id": "eefaa55aaeb3ac03c70a56d98d809ef371f96a6827db87d8279bd65f93255169",
     "Scope": "local", "Driver": "null"},
    {"Name": "host", "Id": "8dce23496ea38eebe341a1a85f7df52b9296fd3989f80d55b90cdc0cb0131433",
     "Scope": "local", "Driver": "host"},
    {"Name": "bridge", "Id": "ad90b8f779ee973e5fe0f8b86889bd3e409f5f642a7159316c8fc731a1c34883",
     "Scope": "local", "Driver": "bridge"},
]
NETWORK_LS = """\
NETWORK ID     NAME         DRIVER    SCOPE
8e5d44461122   apirec-net   bridge    local
ad90b8f779ee   bridge       bridge    local
8dce23496ea3   host         host      local
eefaa55aaeb3   none         null      local
"""


def test_network_ls_default_table():
    from hakobune.cli.template.table import Row, render_rows

    rows = [Row(ID=n["Id"][:12], Name=n["Name"], Driver=n["Driver"], Scope=n["Scope"])
            for n in sorted(NETWORKS, key=lambda n: n["Name"])]
    headers = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE"}
    assert render_rows("table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows, headers) == NETWORK_LS


VOLUMES = {"Volumes": [  # GET /volumes
    {"CreatedAt": "2026-11-28T20:23:40Z", "Driver": "local", "Labels": {"apirec": "1"},
     "Mountpoint": "<data-root>/volumes/apirec-vol/_data", "Name": "apirec-vol", "Options": None, "Scope": "local"},
    {"CreatedAt": "2026-11-28T20:23:31Z", "Driver": "local", "Labels": None,
     "Mountpoint": "<data-root>/volumes/apirec-vol1/_data", "Name": "apirec-vol1", "Options": None, "Scope": "local"},
    {"CreatedAt": "2026-11-28T20:23:33Z", "Driver": "local", "Labels": {"apirec": "1"},
     "Mountpoint": "<data-root>/volumes/apirec-vol2/_data", "Name": "apirec-vol2", "Options": None, "Scope": "local"},
], "Warnings": None}
VOLUME_LS = """\
DRIVER    VOLUME NAME
local     apirec-vol
local     apirec-vol1
local     apirec-vol2
"""


def test_volume_ls_default_table_and_fields():
    from hakobune.cli.template.table import render_rows

    headers = {"Driver": "DRIVER", "Name": "VOLUME NAME"}
    assert render_rows("table {{.Driver}}\t{{.Name}}", VOLUMES["Volumes"], headers) == VOLUME_LS
    template = Template.parse("{{range .Volumes}}{{.Name}}:{{.Labels}} {{end}}{{.Warnings}}")
    assert template.execute(VOLUMES) == "apirec-vol:map[apirec:1] apirec-vol1:<no value> apirec-vol2:map[apirec:1] <no value>"


CONTAINER = {  # GET /containers/json, its one container
    "Id": "0b965b060801785af7cf39bc99daf8c8051ba3f37d3c94b2865f7a567e274e1c", "Names": ["/anch-exec"],
    "Image": "busybox:local", "Command": "sleep 3600", "Created": 1795896552, "Ports": [], "Labels": {},
    "State": "running", "Status": "Up 2 minutes",
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "Gateway": "172.17.0.1",
                                                "IPPrefixLen": 16, "MacAddress": "02:42:ac:11:00:02"}}},
}
PS = """\
CONTAINER ID   IMAGE           COMMAND        CREATED         STATUS         PORTS     NAMES
0b965b060801   busybox:local   "sleep 3600"   2 minutes ago   Up 2 minutes             anch-exec
"""
PS_DEFAULT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
              "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES"}


def test_ps_default_table():
    from hakobune.cli.template.table import Row, render_rows

    row = Row(ID=CONTAINER["Id"][:12], Image=CONTAINER["Image"], Command=f'"{CONTAINER["Command"]}"',
              RunningFor="2 minutes ago", Status=CONTAINER["Status"], Ports="", Names=CONTAINER["Names"][0][1:])
    assert render_rows(PS_DEFAULT, [row], PS_HEADERS) == PS


def test_inspect_style_templates_on_the_container():
    template = Template.parse(
        "{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}}/{{$net.IPPrefixLen}}{{end}} "
        "{{index .Names 0}} {{len .Ports}} {{.Labels}} {{json .Labels}} {{printf \"%.12s\" .Id}}")
    assert template.execute(CONTAINER) == "bridge=172.17.0.2/16 /anch-exec 0 map[] {} 0b965b060801"


IMAGES = """\
REPOSITORY   TAG       IMAGE ID       CREATED         SIZE
busybox      local     c0efc0685e08   7 minutes ago   1.98MB
"""


def test_images_default_table():
    from hakobune.cli.template.table import Row, render_rows

    image = {"Id": "sha256:c0efc0685e08a37930fc5d75b5765a50885410014b9e3875c56031733fc09c0e", "RepoTags": ["busybox:local"]}
    repository, tag = image["RepoTags"][0].split(":")
    row = Row(Repository=repository, Tag=tag, ID=image["Id"][7:19], CreatedSince="7 minutes ago", Size="1.98MB")
    headers = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED", "Size": "SIZE"}
    assert render_rows("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}", [row], headers) == IMAGES


# Recorded live from docker CLI 28.2.2 `docker context ls --format ...` (the
# one command that lists without a daemon), its one row and its headers.
CONTEXT_ROW = {"Name": "default", "Current": True, "Description": "Current DOCKER_HOST based configuration",
               "DockerEndpoint": "unix:///var/run/docker.sock", "Error": ""}
CONTEXT_HEADERS = {"Name": "NAME", "Description": "DESCRIPTION", "DockerEndpoint": "DOCKER ENDPOINT", "Error": "ERROR"}


@pytest.mark.parametrize("format_text, expected", [
    ('table {{.Name}}\t{{"lit"}}\t{{.Name | lower}}\t{{json .Current}}\t{{pad .Name 1 1}}|{{.Current}}',
     "NAME      lit       NAME      \ndefault   lit       default   true       default |true\n"),
    ("json", '{"Current":true,"Description":"Current DOCKER_HOST based configuration",'
             '"DockerEndpoint":"unix:///var/run/docker.sock","Error":"","Name":"default"}\n'),
    ("tablex {{.Name}}", "x NAME\nx default\n"),
    ("  {{.Name}}\\t|\\n|  ", "default\t|\n|\n"),
    ("table {{.Name}}\\t{{.Current}}\\t{{.Description}}\\t{{.Error}}",
     "NAME      <no value>   DESCRIPTION                               ERROR\n"
     "default   true         Current DOCKER_HOST based configuration   \n"),
])
def test_context_ls_formats(format_text, expected):
    from hakobune.cli.template.table import Row, render_rows

    assert render_rows(format_text, [Row(CONTEXT_ROW)], CONTEXT_HEADERS) == expected


def test_context_ls_execution_error():
    from hakobune.cli.template.table import render_rows

    with pytest.raises(TemplateError) as caught:
        render_rows("table {{.Name.Foo}}", [{"Name": "default"}], CONTEXT_HEADERS)
    # docker, on its typed row, ends with "in type string"
    assert str(caught.value).startswith(
        'template parsing error: template: :1:7: executing "" at <.Name.Foo>: can\'t evaluate field Foo in type')
