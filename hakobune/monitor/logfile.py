"""Docker's json-file log, rotated: the monitor's writer and everyone's reader.

    <log>        the current file, one JSON object per line
                 ({"log": ..., "stream": "stdout"|"stderr", "time": RFC 3339})
    <log>.1 ...  rotated files, .1 the newest (Docker's naming); at most
                 max_file files in all, the oldest deleted
    <log>.base   the logical offset at which <log> starts; flock'd (LOCK_EX
                 by the writer while it rotates, LOCK_SH by readers while
                 they open the files), so a reader always sees a consistent
                 set of files

Offsets are logical: bytes written since the log began, across rotations.
A follower that keeps the offset of the last entry it read resumes exactly
after it, whether or not the files rotated meanwhile; entries deleted with
the oldest file are skipped.  Rotated files never change, so their sizes
give their logical starts.

The writer runs in the monitor: it imports only os, time and the json
accelerator (fcntl when it rotates).
"""

import os
import time

from hakobune import _fastjson

_LINE_LIMIT = 16384  # Docker splits a longer line into partial messages
BASE_SUFFIX = ".base"


def _rfc3339nano(seconds_ns: int) -> str:
    seconds, nanos = divmod(seconds_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


class LogWriter:
    """Docker's json-file driver: one JSON object per line of output; the
    file rotates once it reaches max_size bytes (0: never), keeping
    max_file files (1: the file is emptied instead)."""

    def __init__(self, path: str, max_size: int = 0, max_file: int = 1):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size
        self.partial = {}
        self.base_fd = None
        if max_size:
            self.base_fd = os.open(path + BASE_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self.base = _read_base(self.base_fd)

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, stream: str, data: bytes) -> None:
        buffered = self.partial.pop(stream, b"") + data
        lines = buffered.split(b"\n")
        rest = lines.pop()
        out = [self._entry(stream, line + b"\n") for line in lines]
        while len(rest) >= _LINE_LIMIT:
            out.append(self._entry(stream, rest[:_LINE_LIMIT]))
            rest = rest[_LINE_LIMIT:]
        if rest:
            self.partial[stream] = rest
        self._write_entries(out)

    def flush(self) -> None:
        out = [self._entry(stream, rest) for stream, rest in self.partial.items()]
        self.partial.clear()
        self._write_entries(out)

    def _write_entries(self, entries: list) -> None:
        """Whole entries only: with a size limit, the file rotates before an
        entry that would start at or past max_size."""
        if not entries:
            return
        if not self.max_size:
            os.write(self.fd, "".join(entries).encode())
            return
        batch = []
        for entry in entries:
            if self.size >= self.max_size:
                if batch:
                    os.write(self.fd, b"".join(batch))
                    batch = []
                self.rotate()
            encoded = entry.encode()
            batch.append(encoded)
            self.size += len(encoded)
        os.write(self.fd, b"".join(batch))

    def rotate(self) -> None:
        import fcntl

        fcntl.flock(self.base_fd, fcntl.LOCK_EX)
        try:
            written = os.fstat(self.fd).st_size
            os.close(self.fd)
            if self.max_file > 1:
                for number in range(self.max_file - 1, 0, -1):
                    source = self.path if number == 1 else f"{self.path}.{number - 1}"
                    try:
                        os.replace(source, f"{self.path}.{number}")
                    except FileNotFoundError:
                        pass
            else:
                os.truncate(self.path, 0)
            self.base += written
            data = str(self.base).encode()
            os.pwrite(self.base_fd, data, 0)
            os.ftruncate(self.base_fd, len(data))
            self.fd = self._open()
            self.size = 0
        finally:
            fcntl.flock(self.base_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in (self.fd, self.base_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    @staticmethod
    def _entry(stream: str, data: bytes) -> str:
        return _fastjson.dumps({"log": data.decode("utf-8", "replace"), "stream": stream,
                                "time": _rfc3339nano(time.time_ns())}) + "\n"


def _read_base(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0) or b"0")
    except ValueError:
        return 0


def _open_files(path: str) -> list:
    """[(logical start, file)] oldest first, opened under the shared lock."""
    import fcntl

    try:
        lock = os.open(path + BASE_SUFFIX, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        lock = None
    try:
        base = 0
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_SH)
            base = _read_base(lock)
        try:
            current = open(path, "rb")
        except FileNotFoundError:
            current = None
        rotated = []
        if lock is not None:
            number = 1
            while True:
                try:
                    rotated.append(open(f"{path}.{number}", "rb"))
                except FileNotFoundError:
                    break
                number += 1
    finally:
        if lock is not None:
            os.close(lock)  # releases the lock
    files = [] if current is None else [(base, current)]
    start = base
    for f in rotated:
        start -= os.fstat(f.fileno()).st_size
        files.append((start, f))
    files.reverse()
    return files


def read_entries(path: str, offset: int = 0):
    """The log's entries from logical `offset` on, across rotated files;
    yields (entry, logical offset after it).  A line not yet complete ends
    the reading (it is read whole next time)."""
    files = _open_files(path)
    try:
        for index, (start, f) in enumerate(files):
            last = index == len(files) - 1
            if not last and offset >= start + os.fstat(f.fileno()).st_size:
                continue
            position = max(0, offset - start)
            f.seek(position)
            while True:
                line = f.readline()
                if not line.endswith(b"\n"):
                    if last or not line:
                        break
                    continue  # a rotated file's truncated tail
                position += len(line)
                offset = start + position
                try:
                    yield _fastjson.loads(line), offset
                except ValueError:
                    continue
            if last and not line.endswith(b"\n") and line:
                return
    finally:
        for _, f in files:
            f.close()


def end_offset(path: str) -> int:
    """The logical offset at which the next entry will start."""
    files = _open_files(path)
    try:
        if not files:
            return 0
        start, current = files[-1]
        return start + os.fstat(current.fileno()).st_size
    finally:
        for _, f in files:
            f.close()
