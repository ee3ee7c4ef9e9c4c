"""A container's terminal: a pty made inside the container's devpts, whose
master is handed to the caller over the --console-socket (runc's protocol:
one message whose ancillary data carries the master fd)."""

import fcntl
import os
import socket
import termios


def connect(path: str) -> int:
    """Connect to the caller's console socket; returns a descriptor."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"console socket {path}: {e.strerror}") from None
    return sock.detach()


def make_pty(uid: int) -> tuple[int, int, str]:
    """Open a pty through the current /dev/ptmx (the container's own devpts
    once the root is pivoted); the slave is owned by uid."""
    master, slave = os.openpty()
    os.fchown(slave, uid, -1)
    return master, slave, os.ttyname(slave)


def send_master(socket_fd: int, master: int) -> None:
    sock = socket.socket(fileno=socket_fd)
    try:
        socket.send_fds(sock, [b"/dev/ptmx"], [master])
    finally:
        sock.close()


def become_controlling_terminal(slave: int) -> None:
    """Make the slave this session's controlling tty and the stdio."""
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
