"""A container's terminal: a pty made inside the container's devpts, whose
master is handed to the caller over the --console-socket (runc's protocol:
one message whose ancillary data carries the master fd)."""

import array
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
    """Open a pty inside the current /dev/pts; the slave is owned by uid."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, termios.TIOCSPTLCK, array.array("i", [0]))
    number = array.array("I", [0])
    fcntl.ioctl(master, termios.TIOCGPTN, number)
    name = f"/dev/pts/{number[0]}"
    slave = os.open(name, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    os.fchown(slave, uid, -1)
    return master, slave, name


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
