"""OCI device cgroup rules: their checked form and their cgroup v1 text.

Owns the meaning of `linux.resources.devices`: the list starts from "deny
everything", then each rule, in order, allows or denies some access (r, w, m)
to some devices (type a/b/c, major and minor, None meaning any).  For every
kind of access the last rule that matches decides.  v1 writes the rules to
devices.allow/deny (this module gives the lines); v2 compiles them into an
eBPF program (devices_bpf).
"""

from hakobune.errors import InvalidArgument

ALL_ACCESS = "rwm"


class DeviceRule:
    """One checked rule; `major`/`minor` None mean "any"."""

    __slots__ = ("allow", "type", "major", "minor", "access")

    def __init__(self, allow: bool, type: str, major: int | None, minor: int | None, access: str):
        self.allow = allow
        self.type = type
        self.major = major
        self.minor = minor
        self.access = access

    @property
    def matches_everything(self) -> bool:
        return self.type == "a" and self.major is None and self.minor is None and self.access == ALL_ACCESS

    def __repr__(self) -> str:
        verb = "allow" if self.allow else "deny"
        return f"DeviceRule({verb} {v1_line(self)})"


def requested_rules(resources: dict) -> list[DeviceRule] | None:
    """The rules of linux.resources.devices; None when absent (leave devices alone)."""
    raw_rules = resources.get("devices") if isinstance(resources, dict) else None
    if raw_rules is None:
        return None
    if not isinstance(raw_rules, list):
        raise InvalidArgument("linux.resources.devices must be a list")
    return parse_rules(raw_rules)


def parse_rules(raw_rules: list) -> list[DeviceRule]:
    return [parse_rule(raw, index) for index, raw in enumerate(raw_rules)]


def parse_rule(raw: dict, index: int) -> DeviceRule:
    where = f"linux.resources.devices[{index}]"
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{where} must be an object")
    allow = raw.get("allow")
    if not isinstance(allow, bool):
        raise InvalidArgument(f"{where}.allow must be true or false")
    kind = raw.get("type") or "a"
    if kind not in ("a", "b", "c"):
        raise InvalidArgument(f"{where}.type must be a, b or c, not {kind!r}")
    return DeviceRule(allow, kind, _number(raw, "major", where), _number(raw, "minor", where),
                      _access(raw.get("access"), where))


def _number(raw: dict, key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None or value == -1:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{where}.{key} must be a device number or -1, not {value!r}")
    return value


def _access(value, where: str) -> str:
    """The access letters in canonical "rwm" order; absent or empty means all."""
    if value is None or value == "":
        return ALL_ACCESS
    if not isinstance(value, str) or not value or set(value) - set(ALL_ACCESS):
        raise InvalidArgument(f"{where}.access must use the letters r, w and m, not {value!r}")
    return "".join(letter for letter in ALL_ACCESS if letter in value)


def v1_line(rule: DeviceRule) -> str:
    major = "*" if rule.major is None else str(rule.major)
    minor = "*" if rule.minor is None else str(rule.minor)
    return f"{rule.type} {major}:{minor} {rule.access}"


def v1_writes(rules: list[DeviceRule]) -> list[tuple[str, str]]:
    """(file, line) pairs that give a v1 devices cgroup exactly these rules.

    Starts with "a" to devices.deny (deny everything, forget old rules).  The
    kernel reads any "a ..." line as "reset to allow/deny everything", so a
    rule for all types that is narrower than everything is spelt as two
    rules, one for block and one for character devices.
    """
    writes = [("devices.deny", "a")]
    for rule in rules:
        target = "devices.allow" if rule.allow else "devices.deny"
        if rule.matches_everything:
            writes.append((target, "a"))
        elif rule.type == "a":
            for kind in ("b", "c"):
                narrowed = DeviceRule(rule.allow, kind, rule.major, rule.minor, rule.access)
                writes.append((target, v1_line(narrowed)))
        else:
            writes.append((target, v1_line(rule)))
    return writes
