"""Execution of parsed templates against data, with Go's semantics.

Fields: `.Name` on a dict is the key "Name" (a missing key is MISSING, which
prints `<no value>`); on a Python object it is the attribute, and a method is
called with the command's arguments.  After each command of a pipeline a
None becomes MISSING, as Go unwraps a nil interface.  `range` walks lists,
dicts (in sorted key order), and ints; `with`/`if` use Go's truth; variables
live until the end of the control structure that declared them.  Errors are
Go's: `template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.
"""

from hakobune.cli.template.errors import FunctionError, TemplateError
from hakobune.cli.template.functions import ANY, STR, STRLIST, VALUE, INT
from hakobune.cli.template.gofmt import format_value, go_quote, sorted_keys
from hakobune.cli.template.nodes import (
    ActionNode, BoolNode, BreakNode, ChainNode, ContinueNode, DotNode, FieldNode, IdentifierNode,
    IfNode, ListNode, NilNode, NumberNode, PipeNode, RangeNode, StringNode, TemplateNode, TextNode,
    VariableNode, WithNode,
)
from hakobune.cli.template.values import JSON_SCALARS, MISSING, go_type_name, is_int, is_true

MAX_DEPTH = 100

_NO_FINAL = object()  # no value piped in from a previous command


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def print_text(value) -> str:
    """How an action prints its value."""
    if type(value) is str:
        return value
    if value is MISSING or value is None:
        return "<no value>"
    return format_value(value)


class State:
    """One execution: the output, the variables, and the node being
    evaluated, which errors name."""

    def __init__(self, template, out: list, functions: dict, missing_key_error: bool):
        self.template = template
        self.out = out
        self.functions = functions
        self.missing_key_error = missing_key_error
        self.tree_name = template.name
        self.vars: list[list] = []  # [name, value, is_element]
        self.node = None
        self.depth = 0
        # Whether dot is an element of a list or map being ranged over, which
        # Go holds as an interface{} and names so in error messages.
        self.dot_is_element = False

    # Errors

    def fail(self, message: str):
        if self.node is None:
            raise TemplateError(f"template: {self.tree_name}: {message}")
        location = self.template.location(self.node.pos)
        raise TemplateError(f"template: {location}: executing {go_quote(self.tree_name)} at <{self.node}>: {message}")

    # Variables

    def var_entry(self, name: str) -> list:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry
        self.fail(f"undefined variable: {name}")

    def set_var(self, name: str, value, is_element: bool = False) -> None:
        entry = self.var_entry(name)
        entry[1] = value
        entry[2] = is_element

    # Walking the tree

    def walk(self, dot, node) -> None:
        _WALKERS[type(node)](self, dot, node)

    def walk_list(self, dot, node: ListNode) -> None:
        walkers = _WALKERS
        for child in node.nodes:
            if type(child) is TextNode:
                self.out.append(child.text)
            else:
                walkers[type(child)](self, dot, child)

    def walk_text(self, dot, node: TextNode) -> None:
        self.out.append(node.text)

    def walk_action(self, dot, node: ActionNode) -> None:
        path = node.field_path
        if path is not None and not self.missing_key_error:
            # `{{.A.B}}` through dicts: the common case, looked up directly.
            value = dot
            for name in path:
                if not isinstance(value, dict):
                    break
                value = value.get(name, MISSING)
            else:
                self.out.append(value if type(value) is str else print_text(value))
                return
        self.node = node
        value = self.eval_pipeline(dot, node.pipe)
        if not node.pipe.decls:
            self.out.append(print_text(value))

    def walk_if_or_with(self, dot, node) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if not is_true(value):
                if node.else_list is not None:
                    self.walk(dot, node.else_list)
            elif type(node) is WithNode:
                self.walk_with_dot(value, False, node.list)
            else:
                self.walk(dot, node.list)
        finally:
            del self.vars[mark:]

    def walk_with_dot(self, dot, is_element: bool, node) -> None:
        saved = self.dot_is_element
        self.dot_is_element = is_element
        try:
            self.walk(dot, node)
        finally:
            self.dot_is_element = saved

    def walk_range(self, dot, node: RangeNode) -> None:
        self.node = node
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            ran = self.range_over(value, node)
            if not ran and node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            del self.vars[mark:]

    def range_over(self, value, node: RangeNode) -> bool:
        is_element = True
        if isinstance(value, dict):
            pairs = ((key, value[key]) for key in sorted_keys(value))
        elif isinstance(value, (list, tuple)):
            pairs = enumerate(value)
        elif is_int(value):
            if len(node.pipe.decls) > 1:
                self.fail(f"can't use {value} to iterate over more than one variable")
            pairs = ((number, number) for number in range(value))
            is_element = False
        elif value is MISSING or value is None:
            return False
        else:
            self.fail(f"range can't iterate over {format_value(value)}")
        ran = False
        mark = len(self.vars)
        for index, element in pairs:
            ran = True
            self.iterate(node, index, element, is_element, mark)
        return ran

    def iterate(self, node: RangeNode, index, element, is_element: bool, mark: int) -> None:
        decls = node.pipe.decls
        if decls:
            if node.pipe.is_assign:
                if len(decls) > 1:
                    self.set_var(decls[0].name, index)
                    self.set_var(decls[1].name, element, is_element)
                else:
                    self.set_var(decls[0].name, element, is_element)
            else:
                self.vars[-1][1:] = element, is_element
                if len(decls) > 1:
                    self.vars[-2][1:] = index, False
        try:
            self.walk_with_dot(element, is_element, node.list)
        except _Continue:
            pass
        finally:
            del self.vars[mark:]

    def walk_break(self, dot, node) -> None:
        raise _Break()

    def walk_continue(self, dot, node) -> None:
        raise _Continue()

    def walk_template(self, dot, node: TemplateNode) -> None:
        self.node = node
        tree = self.template.trees.get(node.name)
        if tree is None:
            self.fail(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            self.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe)
        saved = self.vars, self.tree_name
        self.vars, self.tree_name = [["$", new_dot, False]], node.name
        self.depth += 1
        try:
            self.walk_with_dot(new_dot, False, tree)
        finally:
            self.vars, self.tree_name = saved
            self.depth -= 1

    # Pipelines and commands

    def eval_pipeline(self, dot, pipe: PipeNode | None):
        if pipe is None:
            return MISSING
        self.node = pipe
        value = MISSING
        final = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, final)
            if value is None:
                value = MISSING
            final = value
        for variable in pipe.decls:
            if pipe.is_assign:
                self.set_var(variable.name, value)
            else:
                self.vars.append([variable.name, value, False])
        return value

    def eval_command(self, dot, cmd, final):
        first = cmd.args[0]
        kind = type(first)
        if kind is FieldNode:
            return self.eval_field_node(dot, first, cmd.args, final)
        if kind is VariableNode:
            return self.eval_variable_node(dot, first, cmd.args, final)
        if kind is IdentifierNode:
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if kind is ChainNode:
            return self.eval_chain_node(dot, first, cmd.args, final)
        if kind is PipeNode:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        self.node = first
        self.not_a_function(cmd.args, final)
        if kind is DotNode:
            return dot
        if kind is StringNode:
            return first.text
        if kind is NumberNode:
            return first.value
        if kind is BoolNode:
            return first.value
        if kind is NilNode:
            self.fail("nil is not a command")
        self.fail(f"can't evaluate command {first}")

    def not_a_function(self, args, final) -> None:
        if (args is not None and len(args) > 1) or final is not _NO_FINAL:
            self.fail(f"can't give argument to non-function {args[0]}")

    def eval_field_node(self, dot, field: FieldNode, args, final):
        self.node = field
        return self.eval_field_chain(dot, dot, self.dot_is_element, field, field.idents, args, final)

    def eval_variable_node(self, dot, variable: VariableNode, args, final):
        self.node = variable
        _, value, is_element = self.var_entry(variable.idents[0])
        if len(variable.idents) == 1:
            self.not_a_function(args or [variable], final)
            return value
        return self.eval_field_chain(dot, value, is_element, variable, variable.idents[1:], args, final)

    def eval_chain_node(self, dot, chain: ChainNode, args, final):
        self.node = chain
        if type(chain.node) is NilNode:
            self.fail(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, VALUE, chain.node)
        return self.eval_field_chain(dot, receiver, False, chain, chain.fields, args, final)

    def eval_field_chain(self, dot, receiver, is_element: bool, node, idents, args, final):
        """Fields one after another; all but the first receiver came out of
        a map (or struct) and so are elements too."""
        last = len(idents) - 1
        for position, name in enumerate(idents):
            if position < last:
                receiver = self.eval_field(dot, name, node, None, _NO_FINAL, receiver, is_element)
            else:
                receiver = self.eval_field(dot, name, node, args, final, receiver, is_element)
            is_element = True
        return receiver

    def eval_field(self, dot, name: str, node, args, final, receiver, is_element: bool):
        if type(receiver) is dict or isinstance(receiver, dict):
            if (args is not None and len(args) > 1) or final is not _NO_FINAL:
                self.fail(f"{name} is not a method but has arguments")
            value = receiver.get(name, MISSING)
            if value is MISSING and self.missing_key_error:
                self.fail(f"map has no entry for key {go_quote(name)}")
            return value
        if receiver is MISSING:
            if self.missing_key_error:
                self.fail(f"nil data; no entry for key {go_quote(name)}")
            return MISSING
        if receiver is None:
            self.fail(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, JSON_SCALARS) or isinstance(receiver, (list, tuple)):
            type_name = "interface {}" if is_element else go_type_name(receiver)
            self.fail(f"can't evaluate field {name} in type {type_name}")
        return self.eval_attribute(dot, name, node, args, final, receiver)

    def eval_attribute(self, dot, name: str, node, args, final, receiver):
        value = MISSING if name.startswith("_") else getattr(receiver, name, MISSING)
        if value is MISSING:
            self.fail(f"can't evaluate field {name} in type {go_type_name(receiver)}")
        if callable(value) and not isinstance(value, type):
            return self.call_python(dot, value, node, name, args or [node], final)
        if (args is not None and len(args) > 1) or final is not _NO_FINAL:
            self.fail(f"{name} has arguments but cannot be invoked as function")
        return value

    # Function calls

    def eval_function(self, dot, ident: IdentifierNode, cmd, args, final):
        self.node = ident
        function = self.functions.get(ident.name)
        if function is None:
            self.fail(f"{go_quote(ident.name)} is not a defined function")
        if function.impl is None:
            return self.eval_and_or(dot, ident.name, args, final)
        return self.call_function(dot, function, cmd, ident.name, args, final)

    def eval_and_or(self, dot, name: str, args, final):
        self.check_arg_count(name, 1, True, len(args) - 1 + (final is not _NO_FINAL))
        want = name == "or"
        value = MISSING
        for arg in args[1:]:
            value = self.eval_arg(dot, VALUE, arg)
            if is_true(value) == want:
                return value
        return value if final is _NO_FINAL else final

    def check_arg_count(self, name: str, fixed: int, variadic: bool, count: int) -> None:
        if variadic and count < fixed:
            self.fail(f"wrong number of args for {name}: want at least {fixed} got {count}")
        if not variadic and count != fixed:
            self.fail(f"wrong number of args for {name}: want {fixed} got {count}")

    def call_function(self, dot, function, cmd, name: str, args, final):
        params = function.params
        count = len(args) - 1 + (final is not _NO_FINAL)
        self.check_arg_count(name, len(params), function.variadic is not None, count)
        values = []
        for position, arg in enumerate(args[1:]):
            kind = params[position] if position < len(params) else function.variadic
            values.append(self.eval_arg(dot, kind, arg))
        if final is not _NO_FINAL:
            position = count - 1
            values.append(self.validate(final, params[position] if position < len(params) else function.variadic))
        if name == "call" and not callable(values[0]):
            self.node = cmd
            callee = args[1] if len(args) > 1 else "value"
            self.fail(f"error calling call: non-function {callee} of type {go_type_name(values[0])}")
        return self.invoke(function.impl, values, cmd, name)

    def call_python(self, dot, method, node, name: str, args, final):
        values = [self.eval_arg(dot, ANY, arg) for arg in args[1:]]
        if final is not _NO_FINAL:
            values.append(None if final is MISSING else final)
        return self.invoke(method, values, node, name)

    def invoke(self, impl, values: list, node, name: str):
        try:
            return impl(*values)
        except (TemplateError, RecursionError):
            raise
        except FunctionError as error:
            self.node = node
            self.fail(f"error calling {name}: {error}")
        except Exception as error:  # a Python function's or method's failure
            self.node = node
            self.fail(f"error calling {name}: {error}")

    # Arguments

    def eval_arg(self, dot, kind: str, node):
        self.node = node
        node_type = type(node)
        if node_type is FieldNode:
            value = self.eval_field_node(dot, node, [node], _NO_FINAL)
        elif node_type is VariableNode:
            value = self.eval_variable_node(dot, node, None, _NO_FINAL)
        elif node_type is DotNode:
            value = dot
        elif node_type is PipeNode:
            value = self.eval_pipeline(dot, node)
        elif node_type is IdentifierNode:
            value = self.eval_function(dot, node, node, [node], _NO_FINAL)
        elif node_type is ChainNode:
            value = self.eval_chain_node(dot, node, None, _NO_FINAL)
        elif node_type is NilNode:
            if kind is ANY or kind is VALUE:
                return None
            if kind is STRLIST:
                return []  # a nil slice
            self.fail(f"cannot assign nil to {kind}")
        else:
            return self.eval_literal(kind, node)
        return self.validate(value, kind)

    def eval_literal(self, kind: str, node):
        if kind is ANY or kind is VALUE:
            return node.text if type(node) is StringNode else node.value
        if kind is STR:
            if type(node) is StringNode:
                return node.text
            self.fail(f"expected string; found {node}")
        if kind is INT:
            if type(node) is NumberNode and node.is_int:
                return int(node.value)
            self.fail(f"expected integer; found {node}")
        self.fail(f"can't handle {node} for arg of type {kind}")

    def validate(self, value, kind: str):
        """Check a computed argument against a typed parameter."""
        if kind is VALUE:
            return value
        if kind is ANY:
            return None if value is MISSING else value
        if value is MISSING:
            if kind is STRLIST:
                return []  # a missing value is a nil slice
            self.fail(f"invalid value; expected {kind}")
        if kind is STR:
            ok = isinstance(value, str)
        elif kind is INT:
            ok = is_int(value)
        elif kind is STRLIST:
            ok = isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
        else:
            ok = True
        if not ok:
            got = "interface {}" if value is None else go_type_name(value)
            self.fail(f"wrong type for value; expected {kind}; got {got}")
        return value


_WALKERS = {
    ListNode: State.walk_list,
    TextNode: State.walk_text,
    ActionNode: State.walk_action,
    IfNode: State.walk_if_or_with,
    WithNode: State.walk_if_or_with,
    RangeNode: State.walk_range,
    BreakNode: State.walk_break,
    ContinueNode: State.walk_continue,
    TemplateNode: State.walk_template,
}


def execute(template, out: list, data, functions: dict, missing_key_error: bool = False) -> None:
    """Run `template` on `data`, appending the output's pieces to `out`
    (which holds the partial output if an error is raised)."""
    state = State(template, out, functions, missing_key_error)
    state.vars.append(["$", data, False])
    try:
        state.walk(data, template.trees[template.name])
    except RecursionError:
        state.node = None
        state.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
