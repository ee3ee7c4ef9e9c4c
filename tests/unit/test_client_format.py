"""The remote handlers' formatting (hakobune.cli.remote): ps rows
from API summaries as docker's formatter prints them, the PORTS text, and
docker version's Server section."""

import time

from hakobune.cli.remote import _ansic, _line, ports_text, server_lines, summary_row

SUMMARY = {"Id": "4f315f58ac4c8b5e9b132066534375c76852040495a3f156f6748fd972c20142",
           "Names": ["/web", "/other/alias"], "Image": "busybox@sha256:" + "a" * 64,
           "Command": "sh -c 'echo a long command line'", "Created": 0,
           "Ports": [{"PrivatePort": 80, "Type": "tcp", "PublicPort": 8080, "IP": "0.0.0.0"},
                     {"PrivatePort": 443, "Type": "tcp"}],
           "Labels": {"a": "1"}, "State": "running", "Status": "Up 5 seconds",
           "NetworkSettings": {"Networks": {"zeta": {}, "alpha": {}}},
           "Mounts": [{"Name": "a-very-long-volume-name", "Driver": "local"}, {"Source": "/host", "Driver": ""}],
           "SizeRw": 12, "SizeRootFs": 2000000}


def test_ps_row_truncated():
    row = summary_row({**SUMMARY, "Created": int(time.time()) - 5}, True)
    assert row["ID"] == "4f315f58ac4c"
    assert row["Image"] == "busybox"
    assert row["Command"] == '"sh -c \'echo a long \u2026"'
    assert row["Names"] == "web"
    assert row["RunningFor"] in ("5 seconds ago", "6 seconds ago")
    assert row["Ports"] == "443/tcp, 0.0.0.0:8080->80/tcp"
    assert row["Networks"] == "alpha,zeta"
    assert row["Mounts"] == "a-very-long-vo\u2026,/host"
    assert row["LocalVolumes"] == "1"
    assert row["Size"] == "12B (virtual 2MB)"
    assert (row["Labels"], row["State"], row["Status"]) == ("a=1", "running", "Up 5 seconds")


def test_ps_row_untruncated():
    row = summary_row(SUMMARY, False)
    assert row["ID"] == SUMMARY["Id"] and row["Image"] == SUMMARY["Image"]
    assert row["Names"] == "web,other/alias"
    assert row["Command"] == "\"sh -c 'echo a long command line'\""


def test_ports_text_folds_and_lists():
    assert ports_text([]) == ""
    assert ports_text([{"PrivatePort": p, "Type": "tcp"} for p in (80, 81, 82)]) == "80-82/tcp"


def test_version_server_section():
    server = {"Platform": {"Name": "Docker Engine - Community"},
              "Components": [{"Name": "Engine", "Version": "20.10.24",
                              "Details": {"ApiVersion": "1.41", "MinAPIVersion": "1.12", "GoVersion": "go1.19.8",
                                          "GitCommit": "5d6db84", "BuildTime": "2026-05-07T21:09:36.000000000+00:00",
                                          "Os": "linux", "Arch": "amd64", "Experimental": "false"}},
                             {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": "abc"}}]}
    assert server_lines(server) == [
        "Server: Docker Engine - Community", " Engine:",
        "  Version:          20.10.24",
        "  API version:      1.41 (minimum version 1.12)",
        "  Go version:       go1.19.8",
        "  Git commit:       5d6db84",
        "  Built:            Thu May  7 21:09:36 2026",
        "  OS/Arch:          linux/amd64",
        "  Experimental:     false",
        " runc:",
        "  Version:          1.1.5",
        "  GitCommit:        abc"]
    assert _ansic("not a time") == "not a time"
    assert _line(" Context", "default") == " Context:           default"
