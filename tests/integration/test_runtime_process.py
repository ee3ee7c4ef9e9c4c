"""A container is a process: what it sees from the inside."""

import pytest

from hakobune.oci.capabilities import DOCKER_DEFAULTS, mask_of

pytestmark = pytest.mark.root


def run_sh(runtime, make_bundle, script, **config_changes):
    bundle = make_bundle(["sh", "-c", script])
    for key, value in config_changes.items():
        bundle.config[key] = value
    return runtime.run_bundle(bundle, check=False)


def test_pid_1_is_the_command(runtime, make_bundle):
    result = run_sh(runtime, make_bundle, "echo $$")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_only_the_containers_processes_are_visible(runtime, make_bundle):
    # the shell expands the glob itself, before any child exists
    result = run_sh(runtime, make_bundle, "echo /proc/[0-9]*")
    assert result.stdout.split() == ["/proc/1"]


def test_hostname_comes_from_the_config(runtime, make_bundle):
    result = run_sh(runtime, make_bundle, "hostname", hostname="boxship")
    assert result.stdout.strip() == "boxship"


def test_exit_status_is_the_containers(runtime, make_bundle):
    assert run_sh(runtime, make_bundle, "exit 42").returncode == 42


def test_default_capabilities_are_dockers_fourteen(runtime, make_bundle):
    result = run_sh(runtime, make_bundle, "grep Cap /proc/self/status")
    caps = dict(line.split(":\t") for line in result.stdout.strip().splitlines())
    expected = f"{mask_of(DOCKER_DEFAULTS):016x}"
    assert caps["CapBnd"] == expected
    assert caps["CapEff"] == expected
    assert caps["CapPrm"] == expected
    assert caps["CapInh"] == "0" * 16
    assert caps["CapAmb"] == "0" * 16


def test_user_and_groups(runtime, make_bundle):
    bundle = make_bundle(["id"])
    bundle.config["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}
    result = runtime.run_bundle(bundle)
    assert result.stdout.strip() == "uid=65534(nobody) gid=65534(nobody) groups=5(tty)"


def test_non_root_user_has_no_effective_capabilities(runtime, make_bundle):
    bundle = make_bundle(["grep", "CapEff", "/proc/self/status"])
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    bundle.config["process"]["capabilities"]["effective"] = []
    result = runtime.run_bundle(bundle)
    assert result.stdout.split()[1] == "0" * 16


def test_environment_cwd_and_umask(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "echo $GREETING; pwd; umask"])
    bundle.config["process"]["env"].append("GREETING=konnichiwa")
    bundle.config["process"]["cwd"] = "/tmp/work"
    bundle.config["process"]["user"]["umask"] = 0o027
    result = runtime.run_bundle(bundle)
    assert result.stdout.split() == ["konnichiwa", "/tmp/work", "0027"]


def test_rlimits_are_applied(runtime, make_bundle):
    bundle = make_bundle(["sh", "-c", "ulimit -n; ulimit -Hn"])
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]
    assert runtime.run_bundle(bundle).stdout.split() == ["321", "654"]


def test_no_new_privileges_is_set(runtime, make_bundle):
    bundle = make_bundle(["grep", "NoNewPrivs", "/proc/self/status"])
    bundle.config["process"]["noNewPrivileges"] = True
    assert runtime.run_bundle(bundle).stdout.split()[1] == "1"


def test_oom_score_adj(runtime, make_bundle):
    bundle = make_bundle(["cat", "/proc/self/oom_score_adj"])
    bundle.config["process"]["oomScoreAdj"] = 123
    assert runtime.run_bundle(bundle).stdout.strip() == "123"


def test_ambient_capabilities(runtime, make_bundle):
    bundle = make_bundle(["grep", "CapAmb", "/proc/self/status"])
    caps = bundle.config["process"]["capabilities"]
    caps["inheritable"] = ["CAP_KILL"]
    caps["ambient"] = ["CAP_KILL"]
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    assert runtime.run_bundle(bundle).stdout.split()[1] == f"{mask_of(['CAP_KILL']):016x}"


def test_program_not_found_fails_create_with_a_clear_error(runtime, make_bundle):
    bundle = make_bundle(["no-such-program"])
    result = runtime.run_bundle(bundle, check=False)
    assert result.returncode != 0
    assert 'exec: "no-such-program": executable file not found in $PATH' in result.stderr
    assert runtime("list", "-q").stdout.strip() == ""
    # the failure came from the container's init, after its cgroup was made
    import glob

    assert glob.glob("/sys/fs/cgroup/*/hakobune/c1") == []


def test_an_apparmor_profile_without_apparmor_is_a_warning(runtime, make_bundle):
    import os

    if os.path.exists("/sys/kernel/security/apparmor"):
        pytest.skip("AppArmor is enabled here")
    bundle = make_bundle(["true"])
    bundle.config["process"]["apparmorProfile"] = "docker-default"
    result = runtime.run_bundle(bundle)
    assert "apparmorProfile 'docker-default' ignored: AppArmor is not enabled" in result.stderr
