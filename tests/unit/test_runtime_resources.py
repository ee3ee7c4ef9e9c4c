import pytest

from hakobune.errors import InvalidArgument
from hakobune.runtime.resources import parse_size, resources_from_flags


@pytest.mark.parametrize("text, expected", [
    ("1024", 1024), ("64m", 64 << 20), ("1G", 1 << 30), ("512k", 512 << 10), ("2MiB", 2 << 20),
    ("10mb", 10 << 20), ("-1", -1),
])
def test_sizes(text, expected):
    assert parse_size(text) == expected


def test_flags_become_oci_resources(tmp_path):
    assert resources_from_flags({"memory": "64m", "pids_limit": "20", "cpu_shares": "512", "cpuset_cpus": "0"}) == {
        "memory": {"limit": 64 << 20}, "pids": {"limit": 20}, "cpu": {"shares": 512, "cpus": "0"}}
    path = tmp_path / "r.json"
    path.write_text('{"pids": {"limit": 5}}')
    assert resources_from_flags({"resources": str(path), "memory": "1g"}) == {
        "pids": {"limit": 5}, "memory": {"limit": 1 << 30}}


def test_bad_flags():
    with pytest.raises(InvalidArgument, match="invalid size"):
        resources_from_flags({"memory": "lots"})
    with pytest.raises(InvalidArgument, match="not a number"):
        resources_from_flags({"pids_limit": "many"})
    with pytest.raises(InvalidArgument, match="at least one"):
        resources_from_flags({})
