"""`update`'s merge of UpdateConfig into HostConfig and the runtime flags it gives (hakobune.engine.resources)."""

import pytest

from hakobune.engine.create import host_config
from hakobune.engine.resources import merged_host_config, runtime_update_args
from hakobune.errors import InvalidArgument

BASE = host_config({"HostConfig": {"Memory": 64 << 20}})


def test_only_given_fields_change():
    new = merged_host_config(BASE, {"Memory": 128 << 20, "MemorySwap": 256 << 20, "CpuShares": 0,
                                    "PidsLimit": None, "RestartPolicy": {"Name": ""}})
    assert (new["Memory"], new["MemorySwap"], new["CpuShares"], new["PidsLimit"]) == (128 << 20, 256 << 20, 0, None)
    assert new["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    new = merged_host_config(BASE, {"PidsLimit": 20, "NanoCpus": 500_000_000,
                                    "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
    assert (new["PidsLimit"], new["NanoCpus"], new["Memory"]) == (20, 500_000_000, 64 << 20)
    assert new["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert merged_host_config(new, {"PidsLimit": -1})["PidsLimit"] is None


def test_runtime_flags():
    update = {"Memory": 128 << 20, "MemorySwap": 256 << 20, "NanoCpus": 500_000_000, "PidsLimit": -1,
              "CpusetCpus": "0"}
    new = merged_host_config(BASE, update)
    assert runtime_update_args(update, new) == [
        "--memory", str(128 << 20), "--memory-swap", str(256 << 20), "--cpu-period", "100000",
        "--cpu-quota", "50000", "--cpuset-cpus", "0", "--pids-limit", "-1"]


@pytest.mark.parametrize("update, message", [
    ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 512 << 20}, "Memory limit should be smaller than already set memoryswap limit"),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy 'sometimes'"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}, "maximum retry count"),
])
def test_errors(update, message):
    with pytest.raises(InvalidArgument, match=message):
        merged_host_config(BASE, update)


def test_cpu_quota_and_nano_cpus_exclude_each_other():
    with_nano = merged_host_config(BASE, {"NanoCpus": 10 ** 9})
    with pytest.raises(InvalidArgument, match="CPU Quota cannot be updated as NanoCPUs has already been set"):
        merged_host_config(with_nano, {"CpuQuota": 50000})
    auto_remove = {**BASE, "AutoRemove": True}
    with pytest.raises(InvalidArgument, match="AutoRemove is enabled"):
        merged_host_config(auto_remove, {"RestartPolicy": {"Name": "always"}})
