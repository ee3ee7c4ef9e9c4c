"""Platforms (os/architecture/variant) and which of an index's manifests fits one.

Names are normalised as Docker and containerd do (``x86_64`` → ``amd64``,
``aarch64`` → ``arm64``, ``armhf`` → ``arm/v7``; an arm64 without variant is
v8, an arm without variant is v7).  A platform wanting a variant also runs
older ones of its architecture: arm/v7 takes v6 and v5 images, amd64/v3
takes v2, v1 and unlabelled amd64 ones; the exact variant ranks first.
"""

import os as _os
from hakobune.oci._record import field, record as dataclass

from hakobune.errors import InvalidArgument

_ARCHITECTURES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "i386": "386", "i486": "386", "i586": "386", "i686": "386", "386": "386",
    "aarch64": "arm64", "arm64": "arm64", "armhf": "arm", "armel": "arm", "arm": "arm",
    "armv5l": "arm", "armv6l": "arm", "armv7l": "arm", "armv8l": "arm",
}
_IMPLIED_VARIANTS = {"armhf": "v7", "armel": "v6", "armv5l": "v5", "armv6l": "v6", "armv7l": "v7",
                     "armv8l": "v8"}
_DEFAULT_VARIANTS = {"arm": "v7", "arm64": "v8", "amd64": "v1"}
# For each architecture, its variants from oldest to newest: a newer one runs the older.
_VARIANT_LADDERS = {"arm": ("v5", "v6", "v7", "v8"), "amd64": ("v1", "v2", "v3", "v4"), "arm64": ("v8",)}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple = field(default=(), compare=False)

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    def normalized(self) -> "Platform":
        arch = self.architecture.lower()
        variant = self.variant.lower() or _IMPLIED_VARIANTS.get(arch, "")
        arch = _ARCHITECTURES.get(arch, arch)
        if variant.isdigit():
            variant = "v" + variant
        variant = variant or _DEFAULT_VARIANTS.get(arch, "")
        os_name = "darwin" if self.os.lower() == "macos" else self.os.lower()
        return Platform(os_name, arch, variant, self.os_version, self.os_features)

    def to_dict(self) -> dict:
        doc = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            doc["os.version"] = self.os_version
        if self.os_features:
            doc["os.features"] = list(self.os_features)
        if self.variant:
            doc["variant"] = self.variant
        return doc


def platform_from_dict(doc, where: str = "platform") -> Platform:
    if not isinstance(doc, dict):
        raise InvalidArgument(f"{where}: expected an object, got {type(doc).__name__}")
    values = {}
    for key in ("os", "architecture", "variant", "os.version"):
        value = doc.get(key, "")
        if not isinstance(value, str):
            raise InvalidArgument(f"{where}.{key}: expected a string, got {type(value).__name__}")
        values[key] = value
    if not values["os"] or not values["architecture"]:
        raise InvalidArgument(f"{where}: os and architecture are required")
    features = doc.get("os.features") or []
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise InvalidArgument(f"{where}.os.features: expected a list of strings")
    return Platform(values["os"], values["architecture"], values["variant"], values["os.version"], tuple(features))


def parse_platform(text: str) -> Platform:
    """``linux``, ``linux/arm64`` or ``linux/arm/v7`` (as ``--platform`` takes it)."""
    parts = text.split("/") if isinstance(text, str) else []
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: expected os[/architecture[/variant]]")
    if len(parts) == 1:
        return Platform(parts[0], host_platform().architecture)
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def host_platform() -> Platform:
    """The platform this machine runs: linux/amd64 here."""
    return Platform("linux", _os.uname().machine).normalized()


def compatible_variants(wanted: Platform) -> tuple[str, ...]:
    """The variants `wanted` runs, best first."""
    wanted = wanted.normalized()
    ladder = _VARIANT_LADDERS.get(wanted.architecture)
    if ladder is None or wanted.variant not in ladder:
        return (wanted.variant,)
    return tuple(reversed(ladder[:ladder.index(wanted.variant) + 1]))


def match_rank(wanted: Platform, candidate: Platform) -> int | None:
    """How well `candidate` fits `wanted` (0 best), or None if it cannot run."""
    wanted_n, candidate_n = wanted.normalized(), candidate.normalized()
    if (wanted_n.os, wanted_n.architecture) != (candidate_n.os, candidate_n.architecture):
        return None
    variants = compatible_variants(wanted_n)
    if candidate_n.variant in variants:
        return variants.index(candidate_n.variant)
    return None


def platform_matches(wanted: Platform, candidate: Platform) -> bool:
    return match_rank(wanted, candidate) is not None
