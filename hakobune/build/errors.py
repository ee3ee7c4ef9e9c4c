"""The build's error kind: a bad Dockerfile, a bad substitution, a bad pattern.

`BuildError` is an InvalidArgument (the user's input is wrong) that may carry
where it happened: `str()` reads ``Dockerfile:3: unknown instruction: FORM``
when the file name and line are known, else just the cause.
"""

from hakobune.errors import InvalidArgument


class BuildError(InvalidArgument):
    """A Dockerfile, a substitution or a .dockerignore that cannot be used."""

    def __init__(self, cause: str, filename: str | None = None,
                 line: int | None = None, end_line: int | None = None):
        self.cause = cause
        self.filename = filename
        self.line = line
        self.end_line = end_line if end_line is not None else line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.line is None:
            return self.cause
        return f"{self.filename or 'Dockerfile'}:{self.line}: {self.cause}"

    def at(self, filename: str | None, line: int, end_line: int | None = None) -> "BuildError":
        """This error located at `line` of `filename` (kept if already located)."""
        if self.line is not None:
            return self
        return BuildError(self.cause, filename, line, end_line)
