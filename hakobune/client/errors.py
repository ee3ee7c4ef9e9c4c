"""The client's own errors: printed as they are (no "Error response from
daemon: " prefix, which is for the server's answers), with their exit
status; cli/main.py's table maps them."""


class ClientError(Exception):
    """An error of the client side: `message` printed as is, exit `status`."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


class CannotConnect(ClientError):
    """Nothing answers at the endpoint."""


class Unsupported(ClientError):
    """A command the remote engine cannot serve yet (exit 125)."""

    def __init__(self, command: str):
        super().__init__(f"{command} is not supported against a remote engine yet", 125)
