"""The template's errors.

Docker prints every template failure, at parse or at execution time, as
`template parsing error: template: NAME:LINE[:COL]: ...`.  `TemplateError`
is an InvalidArgument whose message is exactly that line; `go_message` is Go's
own text without docker's prefix.
"""

from hakobune.errors import InvalidArgument

DOCKER_PREFIX = "template parsing error: "


class TemplateError(InvalidArgument):
    def __init__(self, go_message: str):
        super().__init__(DOCKER_PREFIX + go_message)
        self.go_message = go_message


class FunctionError(Exception):
    """Raised by a template function; the executor reports it as
    `error calling NAME: MESSAGE`, as Go does for a function's error."""


class ExecError(Exception):
    """Raised inside the executor with Go's bare message; the executor adds
    the location (`template: :1:5: executing "" at <node>: `)."""
