"""Parser for Go's text/template: tokens to syntax trees.

`parse(text, name, functions)` returns the trees of the template and of
every `{{define}}` and `{{block}}` in it, by name.  It follows the structure
and the checks of Go's text/template/parse, so that a template Go rejects is
rejected here with Go's message (`template: NAME:LINE: unexpected "}" in
operand`, `function "foo" not defined`, `undefined variable "$x"`, ...).
"""

from hakobune.cli.template import lexer as L
from hakobune.cli.template.errors import TemplateError
from hakobune.cli.template.gofmt import go_quote
from hakobune.cli.template.literals import LiteralError, parse_number, unquote_string
from hakobune.cli.template.nodes import (
    ActionNode, BoolNode, BreakNode, ChainNode, CommandNode, ContinueNode, DotNode, FieldNode,
    IdentifierNode, IfNode, ListNode, NilNode, NumberNode, PipeNode, RangeNode, StringNode,
    TemplateNode, TextNode, VariableNode, WithNode, is_empty_tree,
)

_OPERAND_STARTS = frozenset((
    L.BOOL, L.CHAR_CONSTANT, L.DOT, L.FIELD, L.IDENTIFIER, L.NUMBER, L.NIL,
    L.RAW_STRING, L.STRING, L.VARIABLE, L.LEFT_PAREN,
))
_NOT_EXECUTABLE = (BoolNode, DotNode, NilNode, NumberNode, StringNode)


class _End:
    """`{{end}}`, which closes a list."""

    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "{{end}}"


class _Else(_End):
    def __str__(self) -> str:
        return "{{else}}"


class Parser:
    """Parses one template text into `trees` (name -> ListNode)."""

    def __init__(self, text: str, name: str, functions):
        self.text = text
        self.name = name
        self.functions = functions
        self.tokens = L.tokenize(text)
        self.index = 0
        self.furthest = 0  # the last token lexed: Go's errors take its line
        self.vars = ["$"]
        self.range_depth = 0
        self.action_pos = -1
        self.trees: dict[str, ListNode] = {}

    # Errors

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def error(self, message: str, pos: int | None = None):
        line = self.line_of(self.tokens[self.furthest].pos if pos is None else pos)
        raise TemplateError(f"template: {self.name}:{line}: {message}")

    def unexpected(self, token: L.Token, context: str):
        if token.kind == L.ERROR:
            extra = ""
            line = self.line_of(token.pos)
            if self.action_pos >= 0 and self.line_of(self.action_pos) != line:
                extra = f" in action started at {self.name}:{self.line_of(self.action_pos)}"
                if token.value.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.error(token.value + extra, token.pos)
        self.error(f"unexpected {token} in {context}")

    # The token stream

    def next(self) -> L.Token:
        # Past the end, EOF (or the lexer's ERROR) repeats.
        position = min(self.index, len(self.tokens) - 1)
        if position > self.furthest:
            self.furthest = position
        self.index += 1
        return self.tokens[position]

    def backup(self) -> None:
        self.index -= 1

    def peek(self) -> L.Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def next_non_space(self) -> L.Token:
        token = self.next()
        while token.kind == L.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> L.Token:
        token = self.next_non_space()
        self.backup()
        return token

    def expect(self, kind: str, context: str) -> L.Token:
        token = self.next_non_space()
        if token.kind != kind:
            self.unexpected(token, context)
        return token

    # Top level

    def parse(self) -> dict[str, ListNode]:
        root = ListNode(self.peek().pos)
        while self.peek().kind != L.EOF:
            if self.peek().kind == L.LEFT_DELIM:
                mark = self.index
                self.next()
                if self.next_non_space().kind == "define":
                    self.parse_definition()
                    continue
                self.index = mark
            node = self.text_or_action()
            if isinstance(node, _End):
                self.error(f"unexpected {node}")
            root.nodes.append(node)
        self.add_tree(self.name, root)
        return self.trees

    def add_tree(self, name: str, root: ListNode) -> None:
        existing = self.trees.get(name)
        if existing is None or is_empty_tree(existing):
            self.trees[name] = root
        elif not is_empty_tree(root):
            self.error(f"template: multiple definition of template {go_quote(name)}")

    def in_new_tree(self, parse_body):
        """Run parse_body with the fresh variable scope of a new template."""
        saved = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        try:
            return parse_body()
        finally:
            self.vars, self.range_depth = saved

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.kind not in (L.STRING, L.RAW_STRING):
            self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(L.RIGHT_DELIM, context)
        body, end = self.in_new_tree(self.item_list)
        if type(end) is not _End:
            self.error(f"unexpected {end} in {context}")
        self.add_tree(name, body)

    def item_list(self) -> tuple[ListNode, _End]:
        """Nodes up to the {{end}} or {{else}} that closes them."""
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind != L.EOF:
            node = self.text_or_action()
            if isinstance(node, _End):
                return body, node
            body.nodes.append(node)
        self.error("unexpected EOF")

    def text_or_action(self):
        token = self.next_non_space()
        if token.kind == L.TEXT:
            return TextNode(token.pos, token.value)
        if token.kind == L.LEFT_DELIM:
            # As in Go, an action that ends forgets where any action started.
            self.action_pos = token.pos
            try:
                return self.action()
            finally:
                self.action_pos = -1
        self.unexpected(token, "input")

    def action(self):
        token = self.next_non_space()
        control = _CONTROLS.get(token.kind)
        if control is not None:
            return control(self, token)
        self.backup()
        return ActionNode(self.peek().pos, self.pipeline("command", L.RIGHT_DELIM))

    # Control structures

    def parse_control(self, context: str):
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, L.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            body, end = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if type(end) is _Else:
                else_list = self.else_branch(context, end)
            return pipe, body, else_list
        finally:
            del self.vars[mark:]

    def else_branch(self, context: str, else_node: _Else) -> ListNode:
        follows = self.peek().kind
        if (context, follows) in (("if", "if"), ("with", "with")):
            self.next()
            else_list = ListNode(else_node.pos)
            node_class = IfNode if context == "if" else WithNode
            else_list.nodes.append(self.branch(node_class, context, self.peek()))
            return else_list
        else_list, end = self.item_list()
        if type(end) is not _End:
            self.error(f"expected end; found {end}")
        return else_list

    def branch(self, node_class, context: str, token: L.Token):
        pipe, body, else_list = self.parse_control(context)
        return node_class(pipe.pos, pipe, body, else_list)

    def if_control(self, token):
        return self.branch(IfNode, "if", token)

    def range_control(self, token):
        return self.branch(RangeNode, "range", token)

    def with_control(self, token):
        return self.branch(WithNode, "with", token)

    def else_control(self, token):
        following = self.peek_non_space()
        if following.kind in ("if", "with"):
            # "{{else if ...": the "if" is left for the enclosing control.
            return _Else(following.pos)
        return _Else(self.expect(L.RIGHT_DELIM, "else").pos)

    def end_control(self, token):
        return _End(self.expect(L.RIGHT_DELIM, "end").pos)

    def break_control(self, token):
        return self.loop_control(token, BreakNode, "{{break}}")

    def continue_control(self, token):
        return self.loop_control(token, ContinueNode, "{{continue}}")

    def loop_control(self, token, node_class, keyword: str):
        following = self.next_non_space()
        if following.kind != L.RIGHT_DELIM:
            self.unexpected(following, keyword)
        if self.range_depth == 0:
            self.error(f"{keyword} outside {{{{range}}}}")
        return node_class(token.pos)

    def template_control(self, token):
        context = "template clause"
        name_token = self.next_non_space()
        name = self.template_name(name_token, context)
        pipe = None
        if self.next_non_space().kind != L.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, L.RIGHT_DELIM)
        return TemplateNode(name_token.pos, name, pipe)

    def block_control(self, token):
        context = "block clause"
        name_token = self.next_non_space()
        name = self.template_name(name_token, context)
        pipe = self.pipeline(context, L.RIGHT_DELIM)
        body, end = self.in_new_tree(self.item_list)
        if type(end) is not _End:
            self.error(f"unexpected {end} in {context}")
        self.add_tree(name, body)
        return TemplateNode(name_token.pos, name, pipe)

    def template_name(self, token: L.Token, context: str) -> str:
        if token.kind not in (L.STRING, L.RAW_STRING):
            self.unexpected(token, context)
        return self.unquote(token)

    # Pipelines and commands

    def pipeline(self, context: str, end: str) -> PipeNode:
        pipe = PipeNode(self.peek_non_space().pos)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.kind not in _OPERAND_STARTS:
                self.unexpected(token, context)
            self.backup()
            pipe.cmds.append(self.command())

    def declarations(self, pipe: PipeNode, context: str) -> None:
        """`$x :=`, `$x =` or, in range, `$i, $v :=` at the pipeline's start."""
        while self.peek_non_space().kind == L.VARIABLE:
            mark = self.index
            variable = self.next()
            following = self.peek_non_space()
            if following.kind in (L.ASSIGN, L.DECLARE):
                pipe.is_assign = following.kind == L.ASSIGN
                self.next_non_space()
                pipe.decls.append(VariableNode(variable.pos, (variable.value,)))
                self.vars.append(variable.value)
                return
            if following.kind == L.CHAR and following.value == ",":
                self.next_non_space()
                pipe.decls.append(VariableNode(variable.pos, (variable.value,)))
                self.vars.append(variable.value)
                if context == "range" and len(pipe.decls) < 2:
                    if self.peek_non_space().kind in (L.VARIABLE, L.RIGHT_DELIM, L.RIGHT_PAREN):
                        continue
                    self.error("range can only initialize variables")
                self.error(f"too many declarations in {context}")
            self.index = mark
            return

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.error(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], _NOT_EXECUTABLE):
                self.error(f"non executable command in pipeline stage {stage}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind == L.SPACE:
                continue
            if token.kind in (L.RIGHT_DELIM, L.RIGHT_PAREN):
                self.backup()
            elif token.kind != L.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.error("empty command")
        return cmd

    def operand(self):
        node = self.term()
        if node is None or self.peek().kind != L.FIELD:
            return node
        pos = self.peek().pos
        fields = []
        while self.peek().kind == L.FIELD:
            fields.append(self.next().value[1:])
        if isinstance(node, FieldNode):
            return FieldNode(pos, node.idents + tuple(fields))
        if isinstance(node, VariableNode):
            return VariableNode(pos, node.idents + tuple(fields))
        if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
            self.error(f"unexpected . after term {go_quote(str(node))}")
        return ChainNode(pos, node, tuple(fields))

    def term(self):
        token = self.next_non_space()
        kind = token.kind
        if kind == L.IDENTIFIER:
            if token.value not in self.functions:
                self.error(f"function {go_quote(token.value)} not defined")
            return IdentifierNode(token.pos, token.value)
        if kind == L.DOT:
            return DotNode(token.pos)
        if kind == L.NIL:
            return NilNode(token.pos)
        if kind == L.VARIABLE:
            if token.value not in self.vars:
                self.error(f"undefined variable {go_quote(token.value)}")
            return VariableNode(token.pos, (token.value,))
        if kind == L.FIELD:
            return FieldNode(token.pos, (token.value[1:],))
        if kind == L.BOOL:
            return BoolNode(token.pos, token.value == "true")
        if kind in (L.NUMBER, L.CHAR_CONSTANT):
            return self.number(token)
        if kind == L.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", L.RIGHT_PAREN)
        if kind in (L.STRING, L.RAW_STRING):
            return StringNode(token.pos, token.value, self.unquote(token))
        self.backup()
        return None

    def number(self, token: L.Token) -> NumberNode:
        try:
            value, is_int = parse_number(token.value)
        except LiteralError as error:
            self.error(str(error))
        return NumberNode(token.pos, token.value, value, is_int)

    def unquote(self, token: L.Token) -> str:
        try:
            return unquote_string(token.value)
        except LiteralError as error:
            self.error(str(error))


_CONTROLS = {
    "block": Parser.block_control,
    "break": Parser.break_control,
    "continue": Parser.continue_control,
    "else": Parser.else_control,
    "end": Parser.end_control,
    "if": Parser.if_control,
    "range": Parser.range_control,
    "template": Parser.template_control,
    "with": Parser.with_control,
}


def parse(text: str, name: str, functions) -> dict[str, ListNode]:
    """The trees of `text` by template name; `functions` is the set of
    function names templates may call."""
    return Parser(text, name, functions).parse()
