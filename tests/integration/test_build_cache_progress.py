"""`build --cache-from` (images the store did not build as cache sources),
`build --progress=tty` (the live display, read on a pty through a small
terminal emulator), and the build cache in `system df` and `system prune`."""

import json
import os
import re
import select
import subprocess
import time

import pytest

from cli_store import HAKOBUNE, hk, store  # noqa: F401 - fixtures

pytestmark = pytest.mark.root


def write_context(directory, files: dict) -> str:
    for name, content in files.items():
        path = os.path.join(str(directory), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    return str(directory)


def image_id(hk, name: str) -> str:
    return json.loads(hk.ok("image", "inspect", name))[0]["Id"]


# --- --cache-from ---------------------------------------------------------------------

CACHE_FROM_DOCKERFILE = """\
FROM busybox:latest
ENV STAGE=one
COPY data.txt /data.txt
RUN echo ran > /ran
CMD ["cat", "/data.txt"]
"""


def test_cache_from_reuses_a_loaded_images_steps(hk, tmp_path):
    """An image saved, removed with its cache and loaded again (as one pulled
    from a registry) gives every step with --cache-from; the result is that
    image itself.  Without --cache-from nothing is reused."""
    context = write_context(tmp_path / "ctx", {"Dockerfile": CACHE_FROM_DOCKERFILE, "data.txt": "data\n"})
    hk.ok("build", "-t", "cached:1", context, timeout=180)
    original = image_id(hk, "cached:1")
    archive = str(tmp_path / "cached.tar")
    hk.ok("save", "-o", archive, "cached:1")
    hk.ok("rmi", "cached:1")
    hk.ok("builder", "prune", "-af")
    hk.ok("load", "-i", archive)

    out = hk.ok("build", "--cache-from", "cached:1", "-t", "rebuilt:1", context, timeout=180)
    assert out.count(" ---> Using cache") == 4 and "Running in" not in out
    assert image_id(hk, "rebuilt:1") == original
    hk.ok("rmi", "rebuilt:1")

    with open(os.path.join(context, "data.txt"), "w") as f:
        f.write("changed\n")
    out = hk.ok("build", "--cache-from", "cached:1", "--cache-from", "no-such-image:1", "-t", "changed:1",
                context, timeout=180)
    assert out.count(" ---> Using cache") == 1  # ENV only: the COPY's content differs
    assert hk.ok("run", "--rm", "changed:1").strip() == "changed"


def test_without_cache_from_a_loaded_image_is_no_cache(hk, tmp_path):
    context = write_context(tmp_path / "ctx", {"Dockerfile": CACHE_FROM_DOCKERFILE, "data.txt": "data\n"})
    hk.ok("build", "-t", "cached:1", context, timeout=180)
    archive = str(tmp_path / "cached.tar")
    hk.ok("save", "-o", archive, "cached:1")
    hk.ok("rmi", "cached:1")
    hk.ok("builder", "prune", "-af")
    hk.ok("load", "-i", archive)
    out = hk.ok("build", "-t", "rebuilt:1", context, timeout=180)
    assert " ---> Using cache" not in out


# --- --progress=tty --------------------------------------------------------------------

class Screen:
    """Enough of a terminal for the display: text, CR, LF, ESC[nA, ESC[K."""

    def __init__(self):
        self.rows = [""]
        self.row = self.col = 0

    def feed(self, data: str) -> None:
        for token in re.findall(r"\x1b\[\d*[A-Za-z]|\r|\n|[^\x1b\r\n]+", data):
            if token == "\r":
                self.col = 0
            elif token == "\n":
                self.row += 1
                self.col = 0
                while len(self.rows) <= self.row:
                    self.rows.append("")
            elif token.startswith("\x1b["):
                count = int(token[2:-1] or 1)
                if token.endswith("A"):
                    self.row = max(0, self.row - count)
                elif token.endswith("K"):
                    self.rows[self.row] = self.rows[self.row][:self.col]
            else:
                line = self.rows[self.row].ljust(self.col)
                self.rows[self.row] = line[:self.col] + token + line[self.col + len(token):]
                self.col += len(token)

    def text(self) -> str:
        return "\n".join(row.rstrip() for row in self.rows).strip("\n")


def run_on_pty(hk, *args, timeout=180) -> tuple[int, str, list[str]]:
    """Run hakobune with its stdout on a pty 100 columns wide; (status, the
    final screen, the frames' texts as they came)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen([HAKOBUNE, "--root", hk.root, "--runroot", hk.runroot, *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    screen, chunks = Screen(), []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536).decode(errors="replace")
                except OSError:  # EIO: the last writer closed it
                    break
                if not data:
                    break
                chunks.append(data)
                screen.feed(data)
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return status, screen.text(), chunks


def test_progress_tty_draws_steps_live_and_ends_with_a_summary(hk, tmp_path):
    context = write_context(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox:latest
RUN for i in 1 2 3 4; do echo "output line $i"; sleep 0.4; done
COPY f /f
CMD ["cat", "/f"]
""", "f": "f\n"})
    status, screen, chunks = run_on_pty(hk, "build", "-t", "tty:1", context)
    assert status == 0, screen
    lines = screen.splitlines()
    assert re.fullmatch(r"\[\+\] Building \d+\.\ds \(4/4\) FINISHED", lines[0]), screen
    assert re.fullmatch(r" => \[1/4\] FROM busybox:latest +\d+\.\ds", lines[1])
    assert re.fullmatch(r" => \[2/4\] RUN for i in 1 2 3 4.* +\d+\.\ds", lines[2])
    assert float(lines[2].split()[-1][:-1]) >= 1.2  # its time, measured
    assert re.fullmatch(r" => \[3/4\] COPY f /f +\d+\.\ds", lines[3])
    assert lines[5] == " => exporting to image"
    assert lines[6].startswith(" => => writing image ") and lines[7] == " => => naming to tty:1"
    assert "Step 1/4" not in screen and "=> # output line" not in screen  # the logs went with the running step
    everything = "".join(chunks)
    assert " => => # output line 2" in everything  # shown while the step ran
    assert "\x1b[" in everything and "\x1b[K" in everything  # redrawn in place

    status, screen, _ = run_on_pty(hk, "build", "--progress", "tty", "-t", "tty:1", context)
    assert status == 0
    assert re.search(r" => CACHED \[2/4\] RUN for i", screen) and re.search(r" => CACHED \[3/4\] COPY", screen)


def test_progress_tty_shows_the_failed_step_and_its_output(hk, tmp_path):
    context = write_context(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox:latest
RUN echo about to fail; exit 3
"""})
    status, screen, _ = run_on_pty(hk, "build", "--progress=tty", context)
    assert status == 3
    assert re.search(r"^ => ERROR \[2/2\] RUN echo about to fail; exit 3 +\d+\.\ds$", screen, re.M), screen
    assert "------\n > [2/2] RUN echo about to fail; exit 3:\nabout to fail\n------" in screen
    assert " FINISHED" not in screen


def test_progress_plain_and_auto_off_a_terminal_are_the_classic_stream(hk, tmp_path):
    context = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox:latest\nRUN echo hi\n"})
    for flags in ((), ("--progress", "plain"), ("--progress=auto",)):
        out = hk.ok("build", *flags, context, timeout=180)
        assert "Step 2/2 : RUN echo hi" in out and "\x1b[" not in out
    proc = hk.run("build", "--progress", "fancy", context)
    assert proc.returncode != 0 and 'invalid progress mode "fancy"' in proc.stderr


# --- the build cache in system df / prune ------------------------------------------------

def test_system_df_and_prune_count_the_build_cache(hk, tmp_path):
    context = write_context(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox:latest
RUN --mount=type=cache,target=/cache dd if=/dev/zero of=/cache/blob bs=1024 count=300 2>/dev/null
RUN echo layer > /layer
"""})
    hk.ok("builder", "prune", "-af")  # the store is shared by the module's tests
    hk.ok("build", "-t", "dfcache:1", context, timeout=180)
    usage = json.loads(hk.ok("system", "df", "--format", "{{json .}}").splitlines()[-1])
    assert usage["Type"] == "Build Cache"
    assert usage["TotalCount"] == "3" and usage["Size"] == "307.2kB" and usage["Reclaimable"] == "307.2kB"
    verbose = hk.ok("system", "df", "-v")
    assert "Build cache usage: 307.2kB" in verbose
    assert re.search(r"^\w{12}\s+exec\.cachemount\s+307kB\s+.*ago\s+.*ago\s+1\s+false$", verbose, re.M), verbose
    assert len(re.findall(r"^\w{12}\s+regular\s+", verbose, re.M)) == 2

    out = hk.ok("system", "prune", "-f")
    assert "Deleted build cache objects:\n" in out and out.rstrip().endswith("Total reclaimed space: 307.2kB")
    usage = json.loads(hk.ok("system", "df", "--format", "{{json .}}").splitlines()[-1])
    assert usage["TotalCount"] == "2" and usage["Size"] == "0B"  # the steps of the tagged image stay
    out = hk.ok("build", "-t", "dfcache:1", context, timeout=180)
    assert out.count(" ---> Using cache") == 2
