"""The seccomp program cache: the same program as libseccomp's, and a hit
never imports libseccomp."""

import subprocess
import sys

from hakobune.oci.seccomp_default import default_profile
from hakobune.runtime.seccomp import compile_filter, kernel_program
from hakobune.runtime.seccomp_cache import prepared_filter


def test_a_cached_program_is_the_compiled_one(tmp_path):
    profile = default_profile()
    program, flags = kernel_program(compile_filter(profile))
    first = prepared_filter(profile, str(tmp_path))
    second = prepared_filter(profile, str(tmp_path))
    assert first.program == second.program == program
    assert first.flags == second.flags == flags
    assert len(list(tmp_path.iterdir())) == 1


def test_different_profiles_get_different_entries(tmp_path):
    prepared_filter(default_profile(), str(tmp_path))
    prepared_filter(default_profile(["CAP_SYS_ADMIN"]), str(tmp_path))
    assert len(list(tmp_path.iterdir())) == 2


def test_a_hit_does_not_import_libseccomp(tmp_path):
    prepared_filter(default_profile(), str(tmp_path))
    script = ("import sys\nfrom hakobune.oci.seccomp_default import default_profile\n"
              "from hakobune.runtime.seccomp_cache import prepared_filter\n"
              f"prepared_filter(default_profile(), {str(tmp_path)!r})\n"
              "print('seccomp' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_corrupt_entry_is_recompiled(tmp_path):
    profile = default_profile()
    prepared_filter(profile, str(tmp_path))
    entry = next(tmp_path.iterdir())
    entry.write_bytes(b"\x01")
    assert prepared_filter(profile, str(tmp_path)).program == kernel_program(compile_filter(profile))[0]
