"""The terminal progress renderer (hakobune.cli.progress): docker's lines
updated in place, checked on captured output with a fake width, and one
`hakobune pull` and `push` run under a pseudo-terminal."""

import io
import os
import re
import select
import subprocess
import sys
import tarfile
import time

import pytest

from hakobune.cli.progress import Terminal, human_size, progress_text
from hakobune.image.registry.events import Bytes, Meter

HAKOBUNE = os.path.join(os.path.dirname(sys.executable), "hakobune")
UP = re.compile(r"\x1b\[(\d+)A")


def screen(text: str) -> list[str]:
    """What a terminal shows after `text`: lines, cursor moves, clears, returns."""
    lines, row, col = [""], 0, 0
    i = 0
    while i < len(text):
        match = re.match(r"\x1b\[(\d*)([ABK])", text[i:])
        if match:
            n = int(match.group(1) or 1)
            if match.group(2) == "A":
                row = max(0, row - n)
            elif match.group(2) == "B":
                row += n
                while len(lines) <= row:
                    lines.append("")
            elif n == 2:
                lines[row] = ""
            i += len(match.group(0))
            continue
        ch = text[i]
        if ch == "\n":
            row, col = row + 1, 0
            while len(lines) <= row:
                lines.append("")
        elif ch == "\r":
            col = 0
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1:]
            col += 1
        i += 1
    return [line.rstrip() for line in lines]


def test_sizes_and_bars_as_docker_prints_them():
    assert human_size(39424) == "39.42kB"
    assert human_size(1982354) == "1.982MB"
    assert human_size(999) == "999B"
    assert human_size(12_300_000) == "12.3MB"
    assert progress_text(39424, 1982354, 120) == "[>" + " " * 50 + "]  39.42kB/1.982MB"
    assert progress_text(1996800, 1982354, 120) == "[" + "=" * 50 + ">]  1.997MB"
    half = progress_text(12_300_000, 24_600_000, 120)
    assert half == "[" + "=" * 25 + ">" + " " * 25 + "]   12.3MB/24.6MB"
    assert progress_text(12_300_000, 24_600_000, 80) == "  12.3MB/24.6MB"  # no bar on a narrow terminal
    assert progress_text(0, 0, 120) == ""


def test_layers_are_rewritten_in_place():
    out = io.StringIO()
    term = Terminal(out, width=120)
    term("latest: Pulling from x")
    term("Pulling fs layer", "aaaaaaaaaaaa")
    term("Pulling fs layer", "bbbbbbbbbbbb")
    term(Bytes("Downloading", 500_000, 1_000_000), "aaaaaaaaaaaa")
    term(Bytes("Downloading", 250_000, 1_000_000), "bbbbbbbbbbbb")
    shown = screen(out.getvalue())
    assert shown == ["latest: Pulling from x",
                     "aaaaaaaaaaaa: Downloading [" + "=" * 25 + ">" + " " * 25 + "]    500kB/1MB",
                     "bbbbbbbbbbbb: Downloading [" + "=" * 12 + ">" + " " * 38 + "]    250kB/1MB",
                     ""]
    # the first layer's line is reached by moving up two lines, the second's by one
    assert out.getvalue().endswith("\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Downloading " + progress_text(250_000, 1_000_000, 120)
                                   + "\r\x1b[1B")
    term("Download complete", "aaaaaaaaaaaa")
    term("Pull complete", "aaaaaaaaaaaa")
    term("Pull complete", "bbbbbbbbbbbb")
    term("Digest: sha256:00")
    assert screen(out.getvalue()) == ["latest: Pulling from x", "aaaaaaaaaaaa: Pull complete",
                                      "bbbbbbbbbbbb: Pull complete", "Digest: sha256:00", ""]
    # a line without an id starts a new group: a layer seen again gets a new line
    term("Pulling fs layer", "aaaaaaaaaaaa")
    assert screen(out.getvalue())[-2:] == ["aaaaaaaaaaaa: Pulling fs layer", ""]


def test_meters_are_throttled_and_end_with_the_last_count():
    now = [0.0]
    sent = []
    meter = Meter(lambda status, ident=None: sent.append((status.current, status.total, ident)), "Pushing",
                  "abc", 100, clock=lambda: now[0])
    for _ in range(10):
        meter.add(5)
        now[0] += 0.03
    meter.done()
    assert sent == [(25, 100, "abc"), (45, 100, "abc"), (50, 100, "abc")]
    assert Bytes("Pushing", 1, 2) == "Pushing"


# --- under a pseudo-terminal -------------------------------------------------------

def run_on_a_tty(args, env, columns=120, timeout=120) -> tuple[int, str]:
    import fcntl
    import struct
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the other side is closed
                    break
                if not data:
                    break
                output += data
            elif process.poll() is not None:
                break
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return code, output.decode().replace("\r\n", "\n")


@pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="needs Debian's docker-registry")
def test_pull_and_push_on_a_terminal(tmp_path, busybox_rootfs):
    from registry_server import Registry

    archive = str(tmp_path / "busybox.tar")
    with tarfile.open(archive, "w") as tar:
        for name in sorted(os.listdir(busybox_rootfs)):
            tar.add(os.path.join(busybox_rootfs, name), arcname=name)
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    base = [HAKOBUNE, "--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run")]
    with Registry() as server:
        name = f"{server.address}/tty:1"
        subprocess.run(base + ["import", archive, name], check=True, env=env, stdout=subprocess.DEVNULL)
        inspect = subprocess.run(base + ["image", "inspect", "-f", "{{index .RootFS.Layers 0}}", name], check=True,
                                 env=env, stdout=subprocess.PIPE, text=True)
        diff_short = inspect.stdout.strip().partition(":")[2][:12]

        code, output = run_on_a_tty(base + ["push", name], env)
        assert code == 0, output
        assert f"\x1b[1A\x1b[2K\r{diff_short}: Preparing \r\x1b[1B" in output
        assert f"{diff_short}: Pushing [" in output
        shown = screen(output)
        assert shown[0] == f"The push refers to repository [{server.address}/tty]"
        assert shown[1] == f"{diff_short}: Pushed"
        assert re.fullmatch(r"1: digest: sha256:[0-9a-f]{64} size: \d+", shown[2]), shown

        subprocess.run(base + ["rmi", name], check=True, env=env, stdout=subprocess.DEVNULL)
        code, output = run_on_a_tty(base + ["pull", name], env)
        assert code == 0, output
        shown = screen(output)
        assert shown[0] == "1: Pulling from tty"
        layer = re.fullmatch(r"([0-9a-f]{12}): Pull complete", shown[1]).group(1)
        assert re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", shown[2])
        assert shown[3:] == [f"Status: Downloaded newer image for {name}", name, ""]
        assert f"{layer}: Downloading [" in output or f"{layer}: Extracting [" in output
        assert UP.search(output)
