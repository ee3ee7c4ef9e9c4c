"""The build cache: which image a step made, by what it was made of.

A step's key is the sha256 of its parent image's id and its cache text: the
instruction after substitution as the history records it (for RUN the
build args it sees, ``|1 A=b /bin/sh -c ...``), its flags, and for COPY and
ADD the digest of the content and metadata of what it copies
(`context.content_digest`).  Each key maps to the id of the image the step
committed, one small file ``<root>/build/cache/<key>`` written durably (temp
name, fsync, rename), so the cache survives across builds: the image id,
the parent's and the cache text, one a line.  A hit whose image was removed
since is ignored (and forgotten).  `explain_miss` says why a step found
nothing (``build --explain-cache``): what differs from the closest step
recorded on the same parent; `prune` is ``builder prune``; `entries` what
``system df`` shows of it.
"""

from __future__ import annotations

import hashlib
import os


class BuildCache:
    def __init__(self, directory: str, store):
        self.directory = directory
        self.store = store

    @staticmethod
    def key(parent_id: str | None, text: str) -> str:
        return hashlib.sha256(f"{parent_id or 'scratch'}\n{text}".encode()).hexdigest()

    def _path(self, key: str) -> str:
        return os.path.join(self.directory, key)

    def lookup(self, key: str) -> str | None:
        """The image a step with `key` made, if it is still in the store."""
        try:
            with open(self._path(key)) as f:
                image_id = f.readline().strip()
        except OSError:
            return None
        if image_id and self.store.read_record(image_id) is not None:
            return image_id
        self.forget(key)
        return None

    def record(self, key: str, image_id: str, parent_id: str | None = None, text: str = "") -> None:
        """Remember that the step `key` made `image_id` (with its parent and
        cache text, for `explain_miss`)."""
        from hakobune.image._fsutil import write_atomic

        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        write_atomic(self._path(key), f"{image_id}\n{parent_id or 'scratch'}\n{text}".encode())

    def explain_miss(self, parent_id: str | None, text: str) -> str:
        """Why a step with this parent and cache text finds nothing: what
        differs from the closest step recorded on the same parent."""
        parent = parent_id or "scratch"
        wanted = text.split("\n")
        best = None
        for key in sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []:
            try:
                with open(self._path(key)) as f:
                    image_id, recorded_parent, recorded = f.read().split("\n", 2)
            except (OSError, ValueError):
                continue
            if recorded_parent != parent or self.store.read_record(image_id) is None:
                continue
            lines = recorded.split("\n")
            same = next((i for i, (a, b) in enumerate(zip(wanted, lines)) if a != b), min(len(wanted), len(lines)))
            if best is None or same > best[0]:
                best = (same, lines)
        if best is None:
            short = parent.split(":")[-1][:12]
            return f"no step was cached on the parent image {short} (a step before this one changed)"
        index, lines = best
        if index == 0:
            return f"the instruction differs from the cached one: {lines[0]}"
        if index < len(wanted) - 1 or index < len(lines) - 1:
            return f"its options differ: {wanted[index] if index < len(wanted) else ''} " \
                   f"(cached: {lines[index] if index < len(lines) else ''})"
        return "the content or metadata of the files it copies changed"

    def entries(self):
        """Every recorded step: (key, image id, parent id, cache text, the
        record's modification time)."""
        names = sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []
        for key in names:
            if key.startswith("."):
                continue
            try:
                with open(self._path(key)) as f:
                    image_id, parent, text = f.read().split("\n", 2)
                mtime = os.stat(self._path(key)).st_mtime
            except (OSError, ValueError):
                continue
            yield key, image_id, parent, text, mtime

    def forget(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except OSError:
            pass

    def prune(self, everything: bool = False) -> tuple[list[str], int]:
        """Forget the entries whose image is gone (every entry with
        `everything`); (keys forgotten, bytes freed: none, the layers are the
        images' and go with them, as `system df` counts them)."""
        forgotten = []
        names = sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []
        for key in names:
            if key.startswith("."):
                continue
            if everything or self.lookup(key) is None:
                self.forget(key)
                forgotten.append(key)
        return forgotten, 0
