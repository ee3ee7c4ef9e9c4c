"""Content digests as the OCI image spec writes them: ``<algorithm>:<hex>``.

Digests stay plain strings everywhere in hakobune; this module checks them
(the registered algorithms sha256 and sha512, lowercase hex of the exact
length, as go-digest requires) and hashes bytes.  A digest that passed
`check_digest` is safe to use as a file name: it has one colon and no slash.
"""


from hakobune.errors import InvalidArgument

# algorithm → length of its hex encoding
ALGORITHMS = {"sha256": 64, "sha512": 128}
CANONICAL = "sha256"
_LOWER_HEX = frozenset("0123456789abcdef")


def digest_problem(text: str) -> str | None:
    """Why `text` is no valid digest, in go-digest's words; None if it is one."""
    algorithm, colon, encoded = text.partition(":") if isinstance(text, str) else ("", "", "")
    if not algorithm or not colon or not encoded:
        return "invalid checksum digest format"
    if algorithm not in ALGORITHMS:
        return "unsupported digest algorithm"
    if len(encoded) != ALGORITHMS[algorithm]:
        return "invalid checksum digest length"
    if not _LOWER_HEX.issuperset(encoded):
        return "invalid checksum digest format"
    return None


def is_digest(text) -> bool:
    return isinstance(text, str) and digest_problem(text) is None


def check_digest(text, what: str = "digest") -> str:
    """`text` if it is a valid digest; InvalidArgument naming `what` otherwise."""
    if not isinstance(text, str):
        raise InvalidArgument(f"{what}: expected a digest string, got {type(text).__name__}")
    problem = digest_problem(text)
    if problem:
        raise InvalidArgument(f"{what} {text!r}: {problem}")
    return text


def split_digest(digest: str) -> tuple[str, str]:
    """(algorithm, hex) of a digest that has been checked."""
    algorithm, _, encoded = check_digest(digest).partition(":")
    return algorithm, encoded


def new_hasher(algorithm: str = CANONICAL):
    if algorithm not in ALGORITHMS:
        raise InvalidArgument(f"unsupported digest algorithm {algorithm!r} (sha256 and sha512 are supported)")
    import hashlib  # here: OpenSSL's load costs every CLI start, which hashes nothing

    return hashlib.new(algorithm)


def digest_of(hasher) -> str:
    """The digest string of a finished hashlib object."""
    return f"{hasher.name}:{hasher.hexdigest()}"


def digest_bytes(data: bytes, algorithm: str = CANONICAL) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return digest_of(hasher)
