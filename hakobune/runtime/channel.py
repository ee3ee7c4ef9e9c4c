"""A line-based message channel over two pipes, between the runtime and the
processes it forks (stage one and the container's init).

A child reports a failure as "error <Kind> <message>" and the parent raises the
same engine error kind, so an init's failure reads as if it were local.
"""

import os

from hakobune import errors


class Channel:
    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = b""

    @classmethod
    def pair(cls) -> tuple["Channel", "Channel"]:
        """(parent end, child end); all four descriptors are close-on-exec."""
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        return cls(up_r, down_w), cls(down_r, up_w)

    def send(self, message: str) -> None:
        os.write(self.write_fd, message.encode() + b"\n")

    def send_error(self, error: BaseException) -> None:
        kind = type(error).__name__ if isinstance(error, errors.HakobuneError) else "SystemFailure"
        text = str(error) if isinstance(error, errors.HakobuneError) else _describe(error)
        self.send(f"error {kind} {text}".replace("\n", " "))

    def receive(self) -> str:
        while b"\n" not in self._buffer:
            chunk = os.read(self.read_fd, 4096)
            if not chunk:
                raise errors.SystemFailure("the container's init exited before it was ready")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = line.decode()
        if message.startswith("error "):
            _, kind, text = message.split(" ", 2)
            raise getattr(errors, kind, errors.SystemFailure)(text)
        return message

    def expect(self, word: str) -> str:
        message = self.receive()
        head, _, rest = message.partition(" ")
        if head != word:
            raise errors.SystemFailure(f"runtime protocol: expected {word!r}, got {message!r}")
        return rest

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return f"{type(error).__name__}: {error}"
