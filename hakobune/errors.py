"""The engine's error kinds.

Every failure that reaches a user is one of these kinds.  The CLI maps a kind to
an exit code and the API maps it to an HTTP status, each in one table; nothing
else looks at the class of an error.
"""


class HakobuneError(Exception):
    """Base of all engine errors; `hint` is an optional remedy for the user."""

    http_status = 500

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidArgument(HakobuneError):
    """Bad input: a malformed config, a wrong flag, an unknown name."""

    http_status = 400


class Unauthorized(HakobuneError):
    """The credentials were refused, or access to the object denied (a registry's 401/403)."""

    http_status = 401


class NotFound(HakobuneError):
    """The object named does not exist."""

    http_status = 404


class AlreadyExists(HakobuneError):
    """An object with that name or id exists already."""

    http_status = 409


class Conflict(HakobuneError):
    """The object is in a state that forbids the operation."""

    http_status = 409


class SystemFailure(HakobuneError):
    """The kernel or the host refused: a mount, a cgroup write, a syscall."""

    http_status = 500
