"""The engine's facade: what the CLI, the API and compose call.

    engine = Engine("/var/lib/hakobune", "/run/hakobune")
    engine.images(all=False, filters={"dangling": ["true"]})   # GET /images/json
    engine.remove_image("busybox:latest")                      # DELETE /images/{name}

It holds the image operations, delegating to hakobune.image, and the
containers' (create, start, stop, remove, list, inspect, logs), delegating
to hakobune.engine.containers; answers are the Docker Engine API's JSON
shapes (dicts), errors are the kinds of hakobune.errors.  The image store lives under ``<root>/image``
(see hakobune.image.store); the engine opens it on first use, so that a
command that needs no store never creates one.

Filters are Docker's filter arguments: a dict from a filter's name to its
values (``{"label": ["a=1", "b"]}``), as the API's ``filters`` parameter.
"""

from __future__ import annotations

import os

from hakobune.engine.building import BuildOperations
from hakobune.engine.filesystem import FilesystemOperations
from hakobune.engine.networks import NetworkOperations
from hakobune.engine.processes import ProcessOperations
from hakobune.engine.resources import ResourceOperations
from hakobune.engine.volumes import VolumeOperations
from hakobune.errors import HakobuneError, InvalidArgument, NotFound

IMAGE_LIST_FILTERS = ("before", "dangling", "label", "reference", "since")
IMAGE_PRUNE_FILTERS = ("dangling", "label", "label!", "until")


class Engine(ProcessOperations, FilesystemOperations, VolumeOperations, NetworkOperations, ResourceOperations,
             BuildOperations):
    """The facade; the parts for processes, filesystems, volumes and networks are mixed in from
    their own modules."""

    def __init__(self, root: str, runroot: str):
        self.root = root
        self.runroot = runroot
        self._image_store = None
        self._lifecycle = None

    @property
    def image_store(self):
        if self._image_store is None:
            from hakobune.engine.containers import ContainerUsers
            from hakobune.image.store import ImageStore

            self._image_store = ImageStore(self.root, users=ContainerUsers(self.lifecycle))
        return self._image_store

    # --- containers (hakobune.engine.containers) ----------------------------------

    @property
    def lifecycle(self):
        if self._lifecycle is None:
            from hakobune.engine.containers import Lifecycle

            self._lifecycle = Lifecycle(self.root, self.runroot, lambda: self.image_store)
        return self._lifecycle

    def create_container(self, body: dict, name: str | None = None) -> dict:
        """POST /containers/create: `body` is Docker's create body (Image,
        Cmd, Env, ..., HostConfig, NetworkingConfig); the new container's
        record (Id, Name, ...)."""
        record = self.lifecycle.create(body, name)
        self.lifecycle._event(record, "create")
        return record

    def start_container(self, name: str) -> tuple[dict, bool]:
        """POST /containers/{id}/start: (record, started now)."""
        return self.lifecycle.start(name)

    def stop_container(self, name: str, timeout: float | None = None, signal: str | None = None) -> dict:
        """POST /containers/{id}/stop: the container's StopSignal and
        StopTimeout unless `signal` and `timeout` are given."""
        return self.lifecycle.stop(name, timeout, signal)

    def remove_container(self, name: str, force: bool = False, volumes: bool = False) -> dict:
        """DELETE /containers/{id} (`volumes`: ?v=1, its anonymous volumes too)."""
        return self.lifecycle.remove(name, force, volumes)

    def kill_container(self, name: str, signal: str = "KILL") -> dict:
        """POST /containers/{id}/kill (dockerd's router names the container in every error)."""
        try:
            return self.lifecycle.kill(name, signal or "KILL")
        except NotFound as e:
            raise NotFound(f"Cannot kill container: {name}: {e}") from None

    def pause_container(self, name: str) -> dict:
        """POST /containers/{id}/pause: freeze its cgroup."""
        return self.lifecycle.pause(name)

    def unpause_container(self, name: str) -> dict:
        """POST /containers/{id}/unpause."""
        return self.lifecycle.unpause(name)

    def restart_container(self, name: str, timeout: float | None = None, signal: str | None = None) -> dict:
        """POST /containers/{id}/restart."""
        return self.lifecycle.restart(name, timeout, signal)

    def wait_container(self, name: str, condition: str = "not-running") -> int:
        """POST /containers/{id}/wait: blocks; the exit code."""
        return self.lifecycle.wait(name, condition)

    def rename_container(self, name: str, new_name: str) -> dict:
        """POST /containers/{id}/rename."""
        return self.lifecycle.rename(name, new_name)

    def prune_containers(self, filters: dict | None = None) -> dict:
        """POST /containers/prune: {"ContainersDeleted": [...] or None, "SpaceReclaimed": n}."""
        return self.lifecycle.prune(filters)

    def restore_containers(self) -> list[tuple[str, str | None]]:
        """`system restore` after a reboot: start the always/unless-stopped
        containers the user did not stop; (id, error or None) each."""
        return self.lifecycle.restore()

    def containers(self, all: bool = False, filters: dict | None = None,  # noqa: A002
                   limit: int = 0) -> list[tuple[dict, dict]]:
        """GET /containers/json: (record, state) pairs, newest first; Docker's
        filters (id, name, label, status, exited, ancestor, before, since,
        health, ...); `limit` > 0: the last `limit` created, in any state."""
        from hakobune.engine import containers as C

        filters = C.check_ps_filters(filters)
        if filters.get("status") or limit > 0:
            all = True  # noqa: A001
        pairs = self.lifecycle.list(all)
        pairs = C.filter_pairs(pairs, filters, self._image_id_or_none, self.lifecycle.store.lookup)
        if limit > 0:
            pairs = pairs[:limit]
        return pairs

    def _image_id_or_none(self, name: str) -> str | None:
        try:
            return self.image_store.resolve(name).id
        except HakobuneError:
            return None

    def container_sizes(self, record: dict) -> tuple[int, int]:
        """(SizeRw, SizeRootFs) of a container."""
        size_rw = self.lifecycle.size_rw(record["Id"])
        return size_rw, self.lifecycle.size_root_fs(record, size_rw)

    def container_inspect(self, name: str, size: bool = False) -> dict:
        """GET /containers/{id}/json (?size=1: SizeRw and SizeRootFs)."""
        return self.lifecycle.inspect(name, size)

    # --- events --------------------------------------------------------------------

    def _notice_exits(self) -> None:
        """Let the containers' recorded exits become events ("die"; "destroy" for --rm)."""
        try:
            self.lifecycle.list(all=True)
        except HakobuneError:
            pass

    def record_event(self, event_type: str, action: str, actor_id: str, attributes: dict | None = None) -> None:
        """Append an event to the journal (see hakobune.engine.events)."""
        from hakobune.engine.events import record_event

        record_event(self.root, event_type, action, actor_id, attributes)

    def events(self, since: str | None = None, until: str | None = None, filters: dict | None = None,
               follow: bool | None = None, stop=None):
        """GET /events: the journal's events (legacy view) from `since` to
        `until` (Unix times, RFC 3339 times or Go durations before now),
        matching `filters`; without `until` it follows the journal until
        `stop()` says so (polling).  A generator."""
        from hakobune.engine import events as E

        filters = E.check_filters({k: list(v) for k, v in (filters or {}).items() if v})
        now_ns = time_ns()
        since_ns = _time_bound_ns(since) if since else None
        until_ns = _time_bound_ns(until) if until else None
        follow = until is None if follow is None else follow
        follower = E.Follower(self.root) if follow else None
        self._notice_exits()
        if since_ns is not None:
            for event in E.read_all(self.root):
                if event["timeNano"] < since_ns or event["timeNano"] > now_ns:
                    continue
                if until_ns is not None and event["timeNano"] > until_ns:
                    continue
                if E.matches(event, filters):
                    yield E.legacy_view(event)
        if until_ns is not None and until_ns <= time_ns():
            return
        import time as _time

        scanned = _time.monotonic()
        while follower is not None or until_ns is not None:
            if follower is None:
                follower = E.Follower(self.root)
            if _time.monotonic() - scanned > 0.5:
                self._notice_exits()  # no daemon hears exits: look for them, as Docker's would hear them
                scanned = _time.monotonic()
            for event in follower.poll():
                if event["timeNano"] <= now_ns and since_ns is not None:
                    continue  # replayed above already
                if until_ns is not None and event["timeNano"] > until_ns:
                    continue
                if E.matches(event, filters):
                    yield E.legacy_view(event)
            if until_ns is not None and time_ns() > until_ns:
                return
            if stop is not None and stop():
                return
            _time.sleep(0.05)

    def container_logs(self, name: str):
        """GET /containers/{id}/logs: the json-file log's entries."""
        return self.lifecycle.logs(name)

    # --- following a container (run, start -a, logs -f, attach) ------------------

    def container_id(self, name: str) -> str:
        """The full id of a container given by id, unique prefix or name."""
        return self.lifecycle.store.lookup(name)["Id"]

    def log_size(self, container_id: str) -> int:
        """Where the log ends now: output after this offset is new."""
        from hakobune.monitor.logfile import end_offset

        return end_offset(self.lifecycle.log_path(container_id))

    def read_log(self, container_id: str, offset: int = 0):
        """(entry, offset after it) pairs of the json-file log from `offset`."""
        from hakobune.engine.containers import read_log

        return read_log(self.lifecycle.log_path(container_id), offset)

    def container_running(self, container_id: str) -> bool:
        return self.lifecycle.state(self.lifecycle.store.read(container_id))["Running"]

    def monitor_state(self, container_id: str) -> dict:
        """The monitor's view: monitor_alive, monitor_lost, exit_code."""
        from hakobune.monitor import read_state

        return read_state(self.lifecycle.state_dir(container_id))

    def signal_container(self, container_id: str, signal_name: str) -> None:
        """Send a signal (a name without SIG) to the container's process."""
        self.lifecycle._runtime("kill", container_id, signal_name)

    def note_attach(self, record: dict) -> None:
        """Record the "attach" event (run in the foreground, attach)."""
        self.lifecycle._event(record, "attach")

    def attach_container(self, container_id: str, timeout: float = 10):
        """The monitor's attach stream (stdin in, output frames out)."""
        return self.lifecycle.handle(container_id).attach(timeout=timeout)

    def finish_foreground(self, container_id: str, remove: bool) -> None:
        """After a foreground run: remove the container (--rm) or record its
        exit and unmount its rootfs; nothing if another command removed it."""
        from hakobune.errors import NotFound

        try:
            record = self.lifecycle.store.read(container_id)
        except NotFound:
            return
        if remove:
            self.remove_container(container_id, True)
        else:
            self.lifecycle.reconcile(record)

    # --- listing and inspecting --------------------------------------------------

    def images(self, all: bool = False, filters: dict | None = None) -> list[dict]:  # noqa: A002
        """GET /images/json: summaries, newest first, narrowed by `filters`
        (dangling, reference, label, before, since)."""
        filters = _check_filters(filters, IMAGE_LIST_FILTERS)
        store = self.image_store
        summaries = store.list(all=all)
        if not filters:
            return summaries
        dangling = _bool_filter(filters, "dangling")
        before = self._created_bound(filters.get("before"), "before")
        since = self._created_bound(filters.get("since"), "since")
        patterns = filters.get("reference", [])
        labels = filters.get("label", [])
        created_of = {}
        if before is not None or since is not None:
            created_of = {image.id: _created_key(image.config.created) for image in store.images()}
        result = []
        for summary in summaries:
            untagged = summary["RepoTags"] in (None, ["<none>:<none>"])
            if dangling is True and not untagged:
                continue
            if dangling is False and untagged:
                continue
            if labels and not _labels_match(summary["Labels"] or {}, labels):
                continue
            if before is not None and not created_of.get(summary["Id"], (0, 0)) < before:
                continue
            if since is not None and not created_of.get(summary["Id"], (0, 0)) > since:
                continue
            if patterns:
                summary = _matching_references(summary, patterns)
                if summary is None:
                    continue
            result.append(summary)
        return result

    def _created_bound(self, values, name):
        if not values:
            return None
        bound = None
        for value in values:
            image = self.image_store.resolve(value)
            key = _created_key(image.config.created)
            if bound is None or (key < bound if name == "before" else key > bound):
                bound = key
        return bound

    def image_inspect(self, ref: str) -> dict:
        """GET /images/{name}/json."""
        return self.image_store.inspect(ref)

    def history(self, ref: str) -> list[dict]:
        """GET /images/{name}/history."""
        return self.image_store.history(ref)

    def inspect_any(self, name: str, type: str | None = None) -> tuple[str, dict]:  # noqa: A002
        """`docker inspect`: the object `name` names, as (its type, its JSON).
        Containers and images for now; NotFound says "No such object"."""
        if type in (None, "", "container"):
            try:
                return "container", self.container_inspect(name)
            except NotFound:
                if type == "container":
                    raise
            except InvalidArgument:
                if type == "container":
                    raise
        if type not in (None, "", "image"):
            if type in ("container", "network", "volume", "node", "service", "task", "config",
                        "secret", "plugin"):
                raise NotFound(f"No such object: {name}")
            raise InvalidArgument(f'"{type}" is not a valid value for --type')
        try:
            return "image", self.image_inspect(name)
        except NotFound:
            if type == "image":
                raise
            raise NotFound(f"No such object: {name}") from None
        except InvalidArgument:
            if type == "image":
                raise
            raise NotFound(f"No such object: {name}") from None

    # --- names and removal -------------------------------------------------------

    def tag(self, source: str, target: str) -> None:
        """POST /images/{name}/tag."""
        self.image_store.tag(source, target)
        self._image_event("tag", self._image_id_or_none(target) or source, name=target)

    def remove_image(self, ref: str, force: bool = False, no_prune: bool = False) -> list[dict]:
        """DELETE /images/{name}: Docker's items, {"Untagged": ...} and {"Deleted": ...}."""
        image_id = self._image_id_or_none(ref)
        items = self.image_store.remove(ref, force=force, prune=not no_prune)
        self._image_removal_events(items, image_id)
        return items

    def _image_event(self, action: str, actor_id: str, **attributes) -> None:
        from hakobune.engine.events import record_event

        record_event(self.root, "image", action, actor_id, attributes)

    def _image_removal_events(self, items, image_id: str | None) -> None:
        for item in items or ():
            if item.get("Untagged"):
                self._image_event("untag", image_id or item["Untagged"], name=image_id or item["Untagged"])
            if item.get("Deleted"):
                self._image_event("delete", item["Deleted"], name=item["Deleted"])

    def remove_images(self, refs, force: bool = False, no_prune: bool = False) -> tuple[list[dict], list]:
        """`docker rmi A B ...`: every name in turn; returns the items of those
        removed and the errors (HakobuneError) of those that could not be."""
        from hakobune.errors import HakobuneError

        items, errors = [], []
        for ref in refs:
            try:
                items.extend(self.remove_image(ref, force, no_prune))
            except HakobuneError as e:
                errors.append(e)
        return items, errors

    def prune_images(self, all: bool = False, filters: dict | None = None) -> dict:  # noqa: A002
        """POST /images/prune: {"ImagesDeleted": [...] or None, "SpaceReclaimed": n}."""
        filters = _check_filters(filters, IMAGE_PRUNE_FILTERS)
        dangling = _bool_filter(filters, "dangling")
        dangling_only = not all if dangling is None else dangling
        labels, not_labels = filters.get("label", []), filters.get("label!", [])
        until = None
        if filters.get("until"):
            until = min(_until(value) for value in filters["until"])

        def select(image) -> bool:
            image_labels = dict(image.config.config.labels)
            if labels and not _labels_match(image_labels, labels):
                return False
            if not_labels and any(_labels_match(image_labels, [label]) for label in not_labels):
                return False
            if until is not None and not _created_key(image.config.created) < until:
                return False
            return True

        report = self.image_store.prune(dangling_only=dangling_only,
                                        select=select if (labels or not_labels or until) else None)
        self._image_removal_events(report.get("ImagesDeleted"), None)
        self._image_event("prune", "", reclaimed=str(report.get("SpaceReclaimed", 0)))
        return report

    # --- archives ----------------------------------------------------------------

    def import_image(self, stream, reference: str | None = None, changes=(), message: str | None = None,
                     source: str = "-") -> str:
        """POST /images/create?fromSrc=-: a one-layer image of a root file system tar; its id."""
        from hakobune.image.archive import import_rootfs

        image_id = import_rootfs(self.image_store, stream, reference or None, list(changes), message or None,
                                 source=source)
        self._image_event("import", image_id, name=image_id)
        return image_id

    def save_images(self, refs, out_stream) -> None:
        """GET /images/get: `docker save`'s archive of `refs` written to `out_stream`."""
        from hakobune.image.archive import save

        save(self.image_store, list(refs), out_stream)
        for ref in refs:
            image_id = self._image_id_or_none(ref) or ref
            self._image_event("save", image_id, name=image_id)

    def load_images(self, in_stream, quiet: bool = False) -> list[str]:
        """POST /images/load: what `docker load` prints ("Loaded image: busybox:latest")."""
        from hakobune.image.archive import load

        messages = []
        for loaded in load(self.image_store, in_stream):
            messages.extend(loaded.messages())
        for message in messages:
            name = message.partition(": ")[2]
            image_id = self._image_id_or_none(name) or name
            self._image_event("load", image_id, name=image_id)
        return messages

    # --- registries --------------------------------------------------------------

    def pull(self, reference: str, platform: str | None = None, progress=None, credentials=None) -> str:
        """POST /images/create?fromImage=: pull `reference` (``:latest`` when
        untagged); returns the image id.  `progress(status, id)` hears docker's
        messages: "latest: Pulling from library/busybox", per layer ("Pulling fs
        layer", "Already exists", "Download complete", "Pull complete"), then
        "Digest: …" and "Status: …".  `credentials` (registry.auth.Credentials,
        an API client's X-Registry-Auth) replace the stored login."""
        from hakobune.image import registry
        from hakobune.oci.reference import parse_pull_target

        target = parse_pull_target(reference)
        chosen = None
        if platform:
            from hakobune.oci.platform import parse_platform

            chosen = parse_platform(platform)
        store = self.image_store
        before = None
        if target.tag is not None or target.digest is not None:
            try:
                before = store.resolve(str(target)).id
            except HakobuneError:
                before = None
        report = progress or (lambda status, ident=None: None)
        own_pulling = f": Pulling from {target.familiar_name}"

        def relay(status, ident=None):
            if ident is None and status.endswith(own_pulling):
                # docker names the repository by its path ("library/busybox")
                status = status[:-len(own_pulling)] + f": Pulling from {target.path}"
            elif ident is None and status.startswith("Status: Downloaded newer image for "):
                try:
                    now = store.resolve(str(target)).id
                except HakobuneError:
                    now = None
                if before is not None and now == before:
                    status = f"Status: Image is up to date for {target.familiar}"
            report(status, ident)

        image_id = registry.pull(store, target, platform=chosen, progress=relay, credentials=credentials)
        self._image_event("pull", str(target.familiar), name=target.familiar_name)
        return image_id

    def pull_all_tags(self, reference: str, platform: str | None = None, progress=None,
                      credentials=None) -> list[str]:
        """`docker pull --all-tags`: every tag of the repository; the image ids."""
        from hakobune.image import registry
        from hakobune.oci.reference import parse_named

        named = parse_named(reference)
        if not named.is_name_only:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        report = progress or (lambda status, ident=None: None)
        tags = registry.list_tags(named, credentials=credentials)
        if not tags:
            raise NotFound(f"no tags found for {named.familiar_name}")
        ids = []

        def per_tag(status, ident=None):
            if not (ident is None and status.startswith("Status: ")):
                report(status, ident)

        for tag in tags:
            ids.append(self.pull(str(named.with_tag(tag)), platform=platform, progress=per_tag,
                                 credentials=credentials))
        report(f"Status: Downloaded newer image for {named.familiar_name}", None)
        return ids

    def push_all_tags(self, reference: str, progress=None, credentials=None) -> list[str]:
        """`docker push --all-tags`: every local tag of the repository; the digests."""
        from hakobune.oci.reference import parse_named

        named = parse_named(reference)
        if not named.is_name_only:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        references = self.image_store.read_references().in_repository(named.name)
        tagged = [ref for ref, _ in references if ref.tag is not None]
        if not tagged:
            raise NotFound(f"An image does not exist locally with the tag: {named.familiar_name}")
        return [self.push(str(ref), progress=progress, credentials=credentials) for ref in tagged]

    def push(self, reference: str, progress=None, credentials=None) -> str:
        """POST /images/{name}/push: push the image `reference` names to its
        registry; returns the manifest's digest.  Layers are named by their
        diff id's short form, as docker's messages do ("Preparing", "Pushed",
        "Layer already exists", "Mounted from …")."""
        from hakobune.errors import Unauthorized
        from hakobune.image import registry
        from hakobune.oci.reference import parse_named

        target = parse_named(reference)
        if target.digest is not None:
            raise InvalidArgument(f"cannot push a digest reference: {reference}")
        if target.tag is None:
            target = target.with_tag("latest")
        try:
            self.image_store.resolve(str(target))
        except NotFound:
            raise NotFound(f"An image does not exist locally with the tag: {target.familiar_name}") from None
        report = progress or (lambda status, ident=None: None)
        prepared: set[str] = set()

        def relay(status, ident=None):
            # docker says "Preparing" for every layer before its outcome
            if ident is not None and status in ("Preparing", "Layer already exists"):
                if ident not in prepared and status != "Preparing":
                    report("Preparing", ident)
                prepared.add(ident)
            report(status, ident)

        try:
            digest = registry.push(self.image_store, str(target), progress=relay, credentials=credentials)
            self._image_event("push", target.familiar, name=target.familiar_name)
            return digest
        except Unauthorized as e:
            prefix = f"pushing {target.familiar}: "
            message = e.message[len(prefix):] if e.message.startswith(prefix) else e.message
            raise Unauthorized(message, e.hint) from None

    def login(self, server: str | None, username: str, password: str) -> str:
        """POST /auth: check the credentials against `server` (Docker Hub when
        empty) and store them in the Docker config; returns the registry's
        name as docker keys it."""
        from hakobune.errors import Unauthorized
        from hakobune.image import registry
        from hakobune.image.registry.client import Client

        host = registry_server(server)
        try:
            registry.login(host, username, password)
        except Unauthorized:
            base = Client(host).base
            raise Unauthorized(f"login attempt to {base}/v2/ failed with status: 401 Unauthorized") from None
        return host

    def credentials_file(self) -> str:
        """Where login stores credentials: the user's Docker config."""
        from hakobune.image.registry.auth import config_path

        return config_path()

    def logout(self, server: str | None) -> bool:
        """Forget the stored credentials for `server`; False if there were none."""
        from hakobune.image import registry

        return registry.logout(registry_server(server))

    def system_check(self) -> list[str]:
        """`hakobune system check`: remove what interrupted operations left
        (temporaries, unused layers and blobs), then verify every blob against
        its digest and that every image's config and layers are present.
        Returns the problems found, each a sentence; empty when all is well."""
        store = self.image_store
        problems = []
        store.gc_temporaries()
        store.collect_orphans()
        with store.locked(shared=True):
            for blob in store.content.walk():
                try:
                    store.content.verify(blob.digest)
                except HakobuneError as e:
                    problems.append(e.message)
            for record in store.records():
                if not store.content.exists(record.id):
                    problems.append(f"image {record.id}: its config blob is missing")
                for chain_id in record.chain_ids:
                    if not store.layers.exists(chain_id):
                        problems.append(f"image {record.id}: layer {chain_id} is missing")
                for digest in sorted(record.blob_digests() - {record.id}):
                    if not store.content.exists(digest):
                        problems.append(f"image {record.id}: blob {digest} is missing")
        return problems

    # --- system ------------------------------------------------------------------

    def system_df(self) -> dict:
        """GET /system/df (images only for now): LayersSize and every image's
        summary with Containers and SharedSize filled in."""
        store = self.image_store
        with store.locked(shared=True):
            summaries = store.list(all=True)
            records = {record.id: record for record in store.records()}
            users: dict[str, int] = {}
            for record in records.values():
                for chain_id in record.chain_ids:
                    users[chain_id] = users.get(chain_id, 0) + 1
            sizes = {chain_id: store.layers.size(chain_id) for chain_id in users}
        images = []
        for summary in summaries:
            record = records.get(summary["Id"])
            shared = sum(sizes[c] for c in record.chain_ids if users[c] > 1) if record else 0
            containers = len(store.users.containers_using(summary["Id"]))
            images.append({**summary, "Containers": containers, "SharedSize": shared})
        return {"LayersSize": sum(sizes.values()), "Images": images, "Containers": self._container_usage(),
                "Volumes": self.volumes_disk_usage(), "BuildCache": self.build_cache_usage()}

    def _container_usage(self) -> list[dict]:
        """GET /system/df's Containers: summaries with SizeRw and SizeRootFs."""
        from hakobune.engine.summary import list_command

        out = []
        for record, state in self.lifecycle.list(all=True):
            size_rw, size_root = self.container_sizes(record)
            out.append({"Id": record["Id"], "Names": [record["Name"]],
                        "Image": record["Config"].get("Image") or record["Image"], "ImageID": record["Image"],
                        "Command": list_command(record["Path"], record["Args"]),
                        "Created": int(_created_key(record["Created"])[0]), "State": state["Status"],
                        "Status": state["Status"], "SizeRw": size_rw, "SizeRootFs": size_root,
                        "Labels": record["Config"].get("Labels") or {}, "Mounts": []})
        return out

    def info(self) -> dict:
        """GET /info: the fields of Docker's that make sense without a daemon."""
        import os

        running = paused = stopped = 0
        pairs = self.lifecycle.list(all=True)
        for _, state in pairs:
            if state["Paused"]:
                paused += 1
            elif state["Running"] or state["Restarting"]:
                running += 1
            else:
                stopped += 1
        images = self.image_store.image_ids()
        from hakobune.monitor.spec import default_runtime

        cgroup_version = _cgroup_version()
        uname = os.uname()
        return {"ID": "", "Containers": len(pairs), "ContainersRunning": running, "ContainersPaused": paused,
                "ContainersStopped": stopped, "Images": len(images), "Driver": "overlay2",
                "DriverStatus": [["Backing Filesystem", _backing_filesystem(self.root)],
                                 ["Supports d_type", "true"], ["Native Overlay Diff", "true"],
                                 ["userxattr", "false"]],
                "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"],
                            "Authorization": None, "Log": ["json-file"]},
                "MemoryLimit": True, "SwapLimit": os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
                "KernelMemory": False, "CpuCfsPeriod": True, "CpuCfsQuota": True, "CPUShares": True,
                "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": _ipv4_forwarding(),
                "Debug": False, "NFd": 0, "OomKillDisable": cgroup_version == "1", "NGoroutines": 0,
                "SystemTime": _rfc3339_now(), "LoggingDriver": "json-file",
                "CgroupDriver": "cgroupfs", "CgroupVersion": cgroup_version,
                "KernelVersion": uname.release, "OperatingSystem": _os_name(), "OSVersion": _os_version(),
                "OSType": "linux", "Architecture": uname.machine, "IndexServerAddress": "https://index.docker.io/v1/",
                "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(), "DockerRootDir": self.root,
                "RunRoot": self.runroot, "Name": uname.nodename, "Labels": [], "ExperimentalBuild": False,
                "ServerVersion": _version(),
                "Runtimes": {"hakobune": {"path": default_runtime()}, "runc": {"path": "runc"},
                             "crun": {"path": "crun"}},
                "DefaultRuntime": "hakobune", "Swarm": {"LocalNodeState": "inactive"},
                "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "tini-static",
                "SecurityOptions": ["name=seccomp,profile=builtin"] + (["name=cgroupns"]
                                                                      if cgroup_version == "2" else []),
                "Warnings": []}

    def system_prune(self, all: bool = False, volumes: bool = False,  # noqa: A002
                     filters: dict | None = None) -> dict:
        """POST /containers/prune, /networks/prune, /volumes/prune (with
        `volumes`), /images/prune in Docker's order; each part's report,
        networks and volumes only where the engine has them."""
        container_filters = {k: v for k, v in (filters or {}).items() if k in ("until", "label", "label!")}
        report = {"Containers": self.prune_containers(container_filters)}
        prune_networks = getattr(self, "prune_networks", None)
        if prune_networks is not None:
            report["Networks"] = prune_networks(container_filters)
        if volumes:
            prune_volumes = getattr(self, "prune_volumes", None)
            if prune_volumes is not None:
                report["Volumes"] = prune_volumes(filters={k: v for k, v in container_filters.items()
                                                           if k != "until"})
        report["Images"] = self.prune_images(all=all, filters=container_filters)
        report["BuildCache"] = self.prune_build_cache(all=all)  # as docker's, which prunes it too
        return report


def registry_server(server: str | None) -> str:
    """docker's registry names: Docker Hub when empty, else the host of
    ``https://host:port/path`` or ``host:port``."""
    server = (server or "").strip()
    if not server or server.rstrip("/") in ("docker.io", "index.docker.io", "registry-1.docker.io",
                                             "https://index.docker.io/v1", "https://index.docker.io"):
        return "docker.io"
    for scheme in ("http://", "https://"):
        if server.startswith(scheme):
            server = server[len(scheme):]
    return server.partition("/")[0]


# --- filters -------------------------------------------------------------------

def _check_filters(filters: dict | None, accepted) -> dict:
    filters = {name: list(values) for name, values in (filters or {}).items() if values}
    for name in filters:
        if name not in accepted:
            raise InvalidArgument(f"Invalid filter '{name}'")
    return filters


def _bool_filter(filters: dict, name: str) -> bool | None:
    values = filters.get(name)
    if not values:
        return None
    result = None
    for value in values:
        low = value.lower()
        if low in ("true", "1"):
            flag = True
        elif low in ("false", "0"):
            flag = False
        else:
            raise InvalidArgument(f"Invalid filter '{name}={value}'")
        if result is not None and flag != result:
            raise InvalidArgument(f"Invalid filter '{name}'")
        result = flag
    return result


def _labels_match(labels: dict, wanted) -> bool:
    """Docker's MatchKVList: every `key` or `key=value` is among the labels."""
    for item in wanted:
        key, eq, value = item.partition("=")
        if key not in labels:
            return False
        if eq and labels[key] != value:
            return False
    return True


def _matching_references(summary: dict, patterns) -> dict | None:
    """The summary with only the references a pattern matches (reference.FamiliarMatch);
    None when none does."""
    from hakobune.oci.reference import parse_named

    def matches(text: str) -> bool:
        try:
            ref = parse_named(text)
        except Exception:  # noqa: BLE001 - Docker skips what it cannot parse
            return False
        names = (ref.familiar, ref.familiar_name)
        return any(_path_match(pattern, name) for pattern in patterns for name in names)

    tags = [t for t in summary["RepoTags"] or () if t != "<none>:<none>" and matches(t)]
    digests = [d for d in summary["RepoDigests"] or () if d != "<none>@<none>" and matches(d)]
    if not tags and not digests:
        return None
    return {**summary, "RepoTags": tags, "RepoDigests": digests}


def _path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` stop at `/`, `[...]` classes, `\\` escapes."""
    import re

    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return False
            body = pattern[i + 1:end]
            if body.startswith("^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
            out.append(f"[{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return False


def _created_key(text: str | None) -> tuple[int, int]:
    """An RFC 3339 time as (Unix seconds, nanoseconds), for exact comparisons."""
    from hakobune.image._timefmt import unix_seconds

    if not text:
        return (unix_seconds(None), 0)
    base, dot, rest = text.partition(".")
    nanos = 0
    if dot:
        digits = ""
        for ch in rest:
            if not ch.isdigit():
                break
            digits += ch
        zone = rest[len(digits):]
        nanos = int((digits + "000000000")[:9]) if digits else 0
        base = base + zone
    return (unix_seconds(base), nanos)


def _until(value: str) -> tuple[int, int]:
    """`until=`: a Unix time, an RFC 3339 time, or a Go duration before now."""
    import time

    import re

    exact = re.fullmatch(r"(\d+)(?:\.(\d{1,9}))?", value)
    if exact:  # SECONDS[.NANOS] exactly, as the docker CLI sends it (a float would round the nanoseconds)
        return int(exact.group(1)), int((exact.group(2) or "").ljust(9, "0"))
    try:
        seconds = float(value)
        return (int(seconds), int(round((seconds % 1) * 1e9)))
    except ValueError:
        pass
    if "T" in value or "-" in value[1:]:
        return _created_key(value if value[-1:] in "Zz" or "+" in value else value + "Z")
    nanos = _go_duration(value)
    if nanos is None:
        raise InvalidArgument(f'failed to parse value as time or duration: "{value}"')
    return divmod(time.time_ns() - nanos, 1_000_000_000)


def time_ns() -> int:
    import time

    return time.time_ns()


def _time_bound_ns(value: str) -> int:
    """--since/--until of events and logs: a Unix time, an RFC 3339 time,
    or a Go duration before now; in Unix nanoseconds."""
    seconds, nanos = _until(value)
    return seconds * 1_000_000_000 + nanos


_DURATION_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
                   "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def _go_duration(text: str) -> int | None:
    """Go's time.ParseDuration ("1h30m", "90s", "1.5h") in nanoseconds; None if malformed."""
    import re

    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    parts = re.findall(r"([0-9]*\.?[0-9]*)([a-z\u00b5\u03bc]+)", body)
    if not body or "".join(n + u for n, u in parts) != body:
        return None
    total = 0.0
    for number, unit in parts:
        if unit not in _DURATION_UNITS or number in ("", "."):
            return None
        total += float(number) * _DURATION_UNITS[unit]
    return sign * int(total)


def _cgroup_version() -> str:
    """"2" on a host whose /sys/fs/cgroup is cgroup2 (unified), else "1"."""
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def _backing_filesystem(path: str) -> str:
    best, kind = "", "unknown"
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                point = fields[4]
                fstype = fields[fields.index("-") + 1]
                if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                    best, kind = point, fstype
    except (OSError, ValueError, IndexError):
        pass
    return {"ext4": "extfs", "ext3": "extfs", "ext2": "extfs"}.get(kind, kind)


def _ipv4_forwarding() -> bool:
    try:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _rfc3339_now() -> str:
    from hakobune.monitor.spec import rfc3339nano

    return rfc3339nano(time_ns())


def _os_version() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_ID="):
                    return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return ""


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _version() -> str:
    from hakobune import __version__

    return __version__
