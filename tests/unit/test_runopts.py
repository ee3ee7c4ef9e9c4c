"""`run`/`create` flags → Docker's create body, as the docker CLI builds it."""

import pytest

from hakobune.cli.args.command import parse
from hakobune.cli.main import build_root
from hakobune.createbody.runopts import OptionError, body_of, device_mapping, effective_capabilities


def body(*flags, command=("true",)):
    inv = parse(build_root(), ["run", *flags, "busybox", *command])
    return body_of(inv.opts, "busybox", list(command))


def test_defaults_are_what_the_docker_cli_sends():
    b = body()
    host = b["HostConfig"]
    assert (b["Labels"], b["Env"], "Healthcheck" in b, "StopTimeout" in b) == ({}, None, False, False)
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert host["LogConfig"] == {"Type": "", "Config": {}}
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"], host["Ulimits"]) == (0, 0, 0, [])
    assert (host["CapAdd"], host["CapDrop"], host["SecurityOpt"], host["MemorySwappiness"]) == (None, None, None, -1)
    assert "Init" not in host and "Runtime" not in host and "Sysctls" not in host


def test_resources():
    host = body("-m", "64m", "--memory-swap", "-1", "--memory-reservation", "32m", "--cpus", "0.5",
                "-c", "512", "--cpuset-cpus", "0", "--pids-limit", "50", "--oom-kill-disable",
                "--oom-score-adj", "100", "--shm-size", "8m")["HostConfig"]
    assert (host["Memory"], host["MemorySwap"], host["MemoryReservation"]) == (64 << 20, -1, 32 << 20)
    assert (host["NanoCpus"], host["CpuShares"], host["CpusetCpus"], host["PidsLimit"]) == (500000000, 512, "0", 50)
    assert (host["OomKillDisable"], host["OomScoreAdj"], host["ShmSize"]) == (True, 100, 8 << 20)


def test_ulimits_restart_init_runtime_logging():
    b = body("--ulimit", "nofile=1024:2048", "--ulimit", "nproc=10", "--restart", "on-failure:2", "--init",
             "--runtime", "runc", "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--stop-signal",
             "SIGINT", "--stop-timeout", "3")
    host = b["HostConfig"]
    assert host["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024},
                               {"Name": "nproc", "Hard": 10, "Soft": 10}]
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (host["Init"], host["Runtime"]) == (True, "runc")
    assert host["LogConfig"] == {"Type": "", "Config": {"max-size": "1m", "max-file": "2"}}
    assert (b["StopSignal"], b["StopTimeout"]) == ("SIGINT", 3)


def test_health_flags_in_nanoseconds():
    b = body("--health-cmd", "true", "--health-interval", "2s", "--health-retries", "4", "--health-timeout",
             "500ms", "--health-start-period", "1m")
    assert b["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 2 * 10**9, "Timeout": 500 * 10**6,
                                "StartPeriod": 60 * 10**9, "Retries": 4}
    assert body("--no-healthcheck")["Healthcheck"] == {"Test": ["NONE"]}
    with pytest.raises(OptionError, match="--no-healthcheck conflicts with --health-\\* options"):
        body("--no-healthcheck", "--health-retries", "2")
    with pytest.raises(OptionError, match="--health-retries cannot be negative"):
        body("--health-retries", "-1")
    with pytest.raises(OptionError, match="--health-interval cannot be negative"):
        body("--health-interval", "-1s")


def test_security_and_capabilities():
    host = body("--cap-drop", "ALL", "--cap-add", "net_bind_service", "--security-opt", "no-new-privileges",
                "--read-only", "--privileged")["HostConfig"]
    assert (host["CapAdd"], host["CapDrop"]) == (["CAP_NET_BIND_SERVICE"], ["ALL"])
    assert (host["SecurityOpt"], host["ReadonlyRootfs"], host["Privileged"]) == (["no-new-privileges"], True, True)
    assert effective_capabilities(["ALL"], ["chown"]) == (["ALL"], ["CAP_CHOWN"])
    assert effective_capabilities(["CAP_KILL", "chown"], ["chown"]) == (["CAP_KILL"], None)
    with pytest.raises(OptionError, match='Invalid --security-opt: "bogus"'):
        body("--security-opt", "bogus")


def test_seccomp_profile_file_is_sent_compacted(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    host = body("--security-opt", f"seccomp={profile}", "--security-opt", "seccomp=unconfined")["HostConfig"]
    assert host["SecurityOpt"] == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}', "seccomp=unconfined"]
    with pytest.raises(OptionError, match="opening seccomp profile"):
        body("--security-opt", f"seccomp={tmp_path}/missing.json")


def test_env_file_and_label_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET_ONE\n")
    labels = tmp_path / "labels"
    labels.write_text("x=1\ny\n")
    b = body("--env-file", str(env_file), "-e", "A=override", "--label-file", str(labels), "-l", "z=3")
    assert b["Env"] == ["A=1", "B=two words", "FROM_HOST=h", "A=override"]
    assert b["Labels"] == {"x": "1", "y": "", "z": "3"}
    bad = tmp_path / "bad"
    bad.write_text("A B=1\n")
    with pytest.raises(OptionError, match="variable 'A B' contains whitespaces"):
        body("--env-file", str(bad))
    with pytest.raises(OptionError, match="open /nonexistent: no such file or directory"):
        body("--env-file", "/nonexistent")


def test_restart_policy_errors():
    with pytest.raises(OptionError, match="maximum retry count must be an integer"):
        body("--restart", "on-failure:x")
    with pytest.raises(OptionError, match="conflicting options: cannot specify both --restart and --rm"):
        body("--rm", "--restart", "always")
    assert body("--rm", "--restart", "no")["HostConfig"]["AutoRemove"] is True


def test_devices_sysctls_namespaces():
    host = body("--device", "/dev/null:/dev/n:r", "--device", "/dev/zero:rw", "--sysctl", "net.ipv4.ip_forward=1",
                "--ipc", "host", "--pid", "host", "--uts", "host", "--group-add", "10")["HostConfig"]
    assert host["Devices"] == [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n", "CgroupPermissions": "r"},
                               {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/zero", "CgroupPermissions": "rw"}]
    assert host["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert (host["IpcMode"], host["PidMode"], host["UTSMode"], host["GroupAdd"]) == ("host", "host", "host", ["10"])
    with pytest.raises(OptionError, match="bad mode specified: rwx"):
        device_mapping("/dev/null:/dev/x:rwx")
    with pytest.raises(OptionError, match="--ipc: invalid IPC mode"):
        body("--ipc", "bogus")


@pytest.mark.parametrize("flags, message", [
    (["-m", "12zz"], 'invalid argument "12zz" for "-m, --memory" flag: invalid suffix: \'zz\''),
    (["--ulimit", "nofile=10:5"], "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
    (["--sysctl", "kernel.foo=1"], "sysctl 'kernel.foo=1' is not allowed"),
    (["--stop-timeout", "x"], 'invalid argument "x" for "--stop-timeout" flag'),
    (["--health-interval", "1x"], 'invalid argument "1x" for "--health-interval" flag'),
])
def test_bad_flag_values_are_usage_errors(flags, message):
    from hakobune.cli.args import UsageError

    with pytest.raises(UsageError) as caught:
        parse(build_root(), ["run", *flags, "busybox"])
    assert message in str(caught.value)
