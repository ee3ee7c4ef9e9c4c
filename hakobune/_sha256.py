"""SHA-256 for names derived from other names (veth, bridge and nftables
table names) on the container start path, without importing hashlib.

`import hashlib` loads OpenSSL's `_hashlib` (some 2.5 ms here, at every
CLI start that names a network); CPython's own builtin SHA-256 module loads
in a few microseconds and gives the same digests.  Content digests of
layers and blobs keep hashlib (OpenSSL is faster on large inputs).
"""

try:
    from _sha256 import sha256  # CPython up to 3.11
except ImportError:  # pragma: no cover - newer CPython or another interpreter
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]
