"""What this runtime supports, in the shape of the OCI `features` document."""

from hakobune.oci.capabilities import NAMES
from hakobune.oci.runtime_config import HOOK_KINDS, NAMESPACE_TYPES
from hakobune.runtime.mounts import FLAG_OPTIONS, PROPAGATION_OPTIONS


def features() -> dict:
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": list(HOOK_KINDS),
        "mountOptions": sorted(set(FLAG_OPTIONS) | set(PROPAGATION_OPTIONS)),
        "linux": {
            "namespaces": list(NAMESPACE_TYPES),
            "capabilities": list(NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True,
                        "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                        "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                      "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runc.version": "hakobune"},
    }
