"""The rotated json-file log (hakobune.monitor.logfile): the writer rotates
at max_size keeping max_file files; readers follow by logical offsets that
survive rotations, concurrently with the writer."""

import json
import os
import threading

from hakobune.monitor.logfile import LogWriter, end_offset, read_entries


def test_rotation_and_offsets(tmp_path):
    path = str(tmp_path / "c-json.log")
    writer = LogWriter(path, max_size=500, max_file=3)
    seen, offset = [], 0
    for n in range(300):
        writer.write("stdout", f"line {n}\n".encode())
        if n % 11 == 0:
            for entry, offset in read_entries(path, offset):
                seen.append(entry["log"])
    for entry, offset in read_entries(path, offset):
        seen.append(entry["log"])
    assert seen == [f"line {n}\n" for n in range(300)]
    assert offset == end_offset(path)
    assert sorted(os.listdir(tmp_path)) == ["c-json.log", "c-json.log.1", "c-json.log.2", "c-json.log.base"]
    everything = [e["log"] for e, _ in read_entries(path)]
    assert everything == seen[-len(everything):]  # the oldest files are gone, the rest in order
    writer.close()


def test_partial_lines_and_long_lines(tmp_path):
    path = str(tmp_path / "log")
    writer = LogWriter(path)
    writer.write("stdout", b"no newline yet")
    assert list(read_entries(path)) == []
    writer.write("stderr", b"x" * 20000)
    writer.write("stdout", b" done\n")
    writer.flush()
    entries = [e for e, _ in read_entries(path)]
    assert [e["log"] for e in entries if e["stream"] == "stdout"] == ["no newline yet done\n"]
    assert "".join(e["log"] for e in entries if e["stream"] == "stderr") == "x" * 20000
    with open(path) as f:
        assert all(set(json.loads(line)) == {"log", "stream", "time"} for line in f)


def test_a_concurrent_follower_sees_every_line_once(tmp_path):
    path = str(tmp_path / "log")
    writer = LogWriter(path, max_size=1000, max_file=400)  # nothing deleted before it is read
    done = threading.Event()
    seen = []

    def follow():
        offset = 0
        while True:
            finished = done.is_set()
            for entry, offset in read_entries(path, offset):
                seen.append(entry["log"])
            if finished:
                return

    follower = threading.Thread(target=follow)
    follower.start()
    for n in range(2000):
        writer.write("stdout", f"{n}\n".encode())
    done.set()
    follower.join()
    assert seen == [f"{n}\n" for n in range(2000)]


def test_max_file_one_truncates(tmp_path):
    path = str(tmp_path / "log")
    writer = LogWriter(path, max_size=200, max_file=1)
    for n in range(100):
        writer.write("stdout", f"line {n}\n".encode())
    assert sorted(os.listdir(tmp_path)) == ["log", "log.base"]
    assert os.path.getsize(path) < 300
    offsets = [o for _, o in read_entries(path)]
    assert offsets[-1] == end_offset(path) > os.path.getsize(path)
