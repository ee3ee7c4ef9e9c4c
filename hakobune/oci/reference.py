"""Image references (``[domain/]path[:tag][@digest]``), parsed as Docker does.

The grammar and the normalisation are those of distribution/reference, which
the Docker CLI and daemon use:

- the first path component is a registry domain when it contains a '.' or a
  ':', is ``localhost``, or has an uppercase letter; otherwise the domain is
  ``docker.io`` (``index.docker.io`` is an old name for it);
- on docker.io a one-component path lives under ``library/``;
- the repository path is lowercase, components joined by '/', each made of
  ``[a-z0-9]+`` runs separated by '.', '_', '__' or dashes; at most 255
  characters;
- a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``;
- a digest is sha256 or sha512 in lowercase hex;
- a bare 64-character hex string is refused (it would be an image id).

`parse` adds the tag ``latest`` to a name that has neither tag nor digest, as
``docker pull busybox`` does; `familiar` gives the short form Docker prints.
Errors are InvalidArgument and start with Docker's "invalid reference format".
"""

import re
from hakobune.oci._record import record as dataclass, replace

from hakobune.errors import InvalidArgument
from hakobune.oci.digest import digest_problem

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPOSITORY_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

# re.ASCII: Go's \w is [0-9A-Za-z_], Python's would take any Unicode letter.
_REFERENCE = re.compile(rf"((?:{_DOMAIN}/)?{_PATH})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
_DOMAIN_ONLY = re.compile(_DOMAIN, re.ASCII)
_PATH_ONLY = re.compile(_PATH, re.ASCII)
_TAG_ONLY = re.compile(_TAG, re.ASCII)
_DIGEST_ONLY = re.compile(_DIGEST, re.ASCII)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A normalised reference: `domain` is never empty, `path` is the repository."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository's full name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository's short name: ``busybox``, ``user/app``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPOSITORY_PREFIX):
            rest = self.path[len(OFFICIAL_REPOSITORY_PREFIX):]
            if "/" not in rest:
                return rest
        return self.path

    @property
    def familiar(self) -> str:
        """The short form for display: ``busybox:latest``."""
        return self.familiar_name + self._suffix()

    @property
    def is_name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def __str__(self) -> str:
        return self.name + self._suffix()

    def _suffix(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return tag + digest

    def with_tag(self, tag: str) -> "Reference":
        return replace(self, tag=check_tag(tag))

    def with_digest(self, digest: str) -> "Reference":
        problem = digest_problem(digest)
        if problem:
            raise InvalidArgument(f"invalid digest {digest!r}: {problem}")
        return replace(self, digest=digest)

    def name_only(self) -> "Reference":
        return replace(self, tag=None, digest=None)


def parse_named(text: str) -> Reference:
    """A reference normalised to its full name, tag and digest kept as given."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid reference format: expected a string, got {type(text).__name__}")
    if not text:
        raise InvalidArgument("invalid reference format: repository name must have at least one component")
    if _IDENTIFIER.fullmatch(text):
        raise InvalidArgument(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_domain(text)
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise InvalidArgument(f"invalid reference format: repository name ({remote}) must be lowercase")
    return _parse_full(f"{domain}/{remainder}", text)


def parse(text: str) -> Reference:
    """`parse_named`, with the tag ``latest`` when neither tag nor digest is given."""
    reference = parse_named(text)
    if reference.is_name_only:
        return replace(reference, tag=DEFAULT_TAG)
    return reference


def parse_pull_target(text: str) -> Reference:
    """What to fetch: `parse`, but a digest wins over a tag given with it
    (``busybox:1.36@sha256:…`` pulls ``busybox@sha256:…``), as Docker does."""
    reference = parse(text)
    if reference.digest is not None and reference.tag is not None:
        return replace(reference, tag=None)
    return reference


def is_valid_tag(tag) -> bool:
    return isinstance(tag, str) and _TAG_ONLY.fullmatch(tag) is not None


def check_tag(tag) -> str:
    if not is_valid_tag(tag):
        raise InvalidArgument(f"invalid tag format: {tag!r}: a tag is 1 to 128 letters, digits, '_', '.' "
                              "and '-', and starts with a letter, a digit or '_'")
    return tag


def _split_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPOSITORY_PREFIX + text
    if first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, text
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPOSITORY_PREFIX + remainder
    return domain, remainder


def _parse_full(full: str, original: str) -> Reference:
    match = _REFERENCE.fullmatch(full)
    if match is None:
        if _REFERENCE.fullmatch(full.lower()):
            raise InvalidArgument("invalid reference format: repository name must be lowercase")
        raise InvalidArgument(f"invalid reference format: {_diagnose(full)} in {original!r}")
    name, tag, digest = match.groups()
    domain, _, path = name.partition("/")
    if not _DOMAIN_ONLY.fullmatch(domain):
        # Docker would take it for a path without a domain; hakobune always has one.
        raise InvalidArgument(f"invalid reference format: invalid registry domain {domain!r} in {original!r}")
    if len(path) > NAME_MAX_LENGTH:
        raise InvalidArgument(f"invalid reference format: repository name must not be more than "
                              f"{NAME_MAX_LENGTH} characters ({path[:40]}… has {len(path)})")
    if digest is not None:
        problem = digest_problem(digest)
        if problem:
            raise InvalidArgument(f"invalid reference format: {problem}: {digest!r} in {original!r}")
    return Reference(domain, path, tag, digest)


def _diagnose(full: str) -> str:
    """Which part of a reference that does not parse is wrong."""
    name, at, digest = full.partition("@")
    if at and not _DIGEST_ONLY.fullmatch(digest):
        return f"invalid digest {digest!r}"
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    if tag is not None and not _TAG_ONLY.fullmatch(tag):
        return f"invalid tag {tag!r}"
    domain, _, path = name.partition("/")
    if not _DOMAIN_ONLY.fullmatch(domain):
        return f"invalid registry domain {domain!r}"
    for component in path.split("/"):
        if not _PATH_ONLY.fullmatch(component):
            return f"invalid repository name component {component!r}"
    return "unexpected characters"
