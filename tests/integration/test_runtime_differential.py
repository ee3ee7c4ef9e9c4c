"""The same bundle under hakobune-runtime and under runc gives the same
observed identity, capabilities, mounts, hostname, limits and exit status."""

import pytest

pytestmark = pytest.mark.root

SCRIPT = """
id; hostname; ulimit -n; ulimit -Hn; umask; pwd
grep -E '^(Cap|NoNewPrivs|Seccomp:|Sig(Ign|Blk|Cgt))' /proc/self/status
cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares
echo ---mounts
awk '{split($4, o, ","); print $2, $3, o[1]}' /proc/self/mounts | sort
echo ---dev
ls /dev | sort
echo ---end
exit 3
"""


def configure(bundle, variant: str):
    config = bundle.config
    config["hostname"] = "differential"
    config["process"]["cwd"] = "/tmp"
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024}]
    config["linux"]["resources"].update({"memory": {"limit": 96 << 20}, "pids": {"limit": 64},
                                         "cpu": {"shares": 256}})
    if variant == "user":
        config["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}
    if variant == "nnp":
        config["process"]["noNewPrivileges"] = True
        config["process"]["capabilities"]["bounding"].remove("CAP_NET_RAW")
        config["process"]["capabilities"]["effective"].remove("CAP_NET_RAW")
        config["process"]["capabilities"]["permitted"].remove("CAP_NET_RAW")
    if variant == "readonly":
        config["root"]["readonly"] = True


@pytest.mark.parametrize("variant", ["default", "user", "nnp", "readonly"])
def test_same_bundle_same_container(runtime, runc, make_bundle, variant):
    outputs = []
    for driver in (runtime, runc):
        bundle = make_bundle(["sh", "-c", SCRIPT])
        configure(bundle, variant)
        result = driver.run_bundle(bundle, f"diff-{variant}", check=False)
        outputs.append((result.returncode, result.stdout))
    ours, theirs = outputs
    assert ours[0] == theirs[0] == 3
    assert ours[1] == theirs[1]


def test_runcs_own_default_spec(runtime, runc, make_bundle, tmp_path):
    # `runc spec` asks for ambient capabilities that are not inheritable:
    # both runtimes warn and run it the same way.
    import json
    import subprocess

    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    subprocess.run([runc.binary, "spec"], cwd=spec_dir, check=True)
    outputs = []
    for driver in (runtime, runc):
        bundle = make_bundle()
        bundle.config = json.loads((spec_dir / "config.json").read_text())
        bundle.config["process"].update(terminal=False, args=["sh", "-c", SCRIPT])
        result = driver.run_bundle(bundle, "runc-spec", check=False)
        outputs.append((result.returncode, result.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 3
