"""Syntax tree of a parsed template.

Every node keeps `pos`, its offset (in characters) into the template text,
which error messages turn into a line and a column, and prints itself the way
Go's text/template/parse nodes do, since execution errors quote the node they
failed at (`executing "" at <.A.B>: ...`).
"""


from hakobune.cli.template.gofmt import go_quote


class Node:
    __slots__ = ("pos",)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str):
        self.pos = pos
        self.text = text

    def __str__(self) -> str:
        return self.text


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int):
        self.pos = pos
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(node) for node in self.nodes)


class DotNode(Node):
    __slots__ = ()

    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "nil"


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool):
        self.pos = pos
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class NumberNode(Node):
    """A numeric or character constant; `value` is an int or a float as Go's
    untyped-constant rules give it, `is_int` whether it fits an int parameter."""

    __slots__ = ("text", "value", "is_int")

    def __init__(self, pos: int, text: str, value, is_int: bool):
        self.pos = pos
        self.text = text
        self.value = value
        self.is_int = is_int

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str):
        self.pos = pos
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


class FieldNode(Node):
    """`.A.B.C`: `idents` is ("A", "B", "C")."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: tuple):
        self.pos = pos
        self.idents = idents

    def __str__(self) -> str:
        return "." + ".".join(self.idents)


class VariableNode(Node):
    """`$x.A.B`: `idents` is ("$x", "A", "B")."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: tuple):
        self.pos = pos
        self.idents = idents

    @property
    def name(self) -> str:
        return self.idents[0]

    def __str__(self) -> str:
        return ".".join(self.idents)


class IdentifierNode(Node):
    """A function name."""

    __slots__ = ("name",)

    def __init__(self, pos: int, name: str):
        self.pos = pos
        self.name = name

    def __str__(self) -> str:
        return self.name


class ChainNode(Node):
    """Fields after a term that is not a field or variable: `(pipeline).A.B`."""

    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: Node, fields: tuple):
        self.pos = pos
        self.node = node
        self.fields = fields

    def __str__(self) -> str:
        inner = str(self.node)
        if isinstance(self.node, PipeNode):
            inner = "(" + inner + ")"
        return inner + "." + ".".join(self.fields)


class CommandNode(Node):
    """One stage of a pipeline: an operand and its arguments."""

    __slots__ = ("args",)

    def __init__(self, pos: int):
        self.pos = pos
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join("(" + str(arg) + ")" if isinstance(arg, PipeNode) else str(arg) for arg in self.args)


class PipeNode(Node):
    """`$x := cmd1 | cmd2`; `decls` are VariableNodes, `is_assign` tells `=` from `:=`."""

    __slots__ = ("decls", "is_assign", "cmds")

    def __init__(self, pos: int):
        self.pos = pos
        self.decls: list[VariableNode] = []
        self.is_assign = False
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        text = ""
        if self.decls:
            text = ", ".join(str(v) for v in self.decls) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(cmd) for cmd in self.cmds)


class ActionNode(Node):
    """`{{pipeline}}`; `field_path` is ("A", "B") when the action is just
    `{{.A.B}}`, which the executor looks up without the general machinery."""

    __slots__ = ("pipe", "field_path")

    def __init__(self, pos: int, pipe: PipeNode):
        self.pos = pos
        self.pipe = pipe
        self.field_path = None
        if not pipe.decls and len(pipe.cmds) == 1 and len(pipe.cmds[0].args) == 1:
            operand = pipe.cmds[0].args[0]
            if type(operand) is FieldNode:
                self.field_path = operand.idents

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class BranchNode(Node):
    """Common shape of if, range and with."""

    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos: int, pipe: PipeNode, body: ListNode, else_list: ListNode | None):
        self.pos = pos
        self.pipe = pipe
        self.list = body
        self.else_list = else_list

    def __str__(self) -> str:
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ()

    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ()

    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    """`{{template "name" pipeline}}`; `pipe` may be None."""

    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: PipeNode | None):
        self.pos = pos
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + str(self.pipe) + "}}"


def is_empty_tree(node: Node) -> bool:
    """Whether a definition holds nothing but white space (Go lets such a
    definition be redefined)."""
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return not node.text.strip(" \t\r\n")
    return False
