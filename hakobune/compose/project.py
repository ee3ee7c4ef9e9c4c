"""A project converged through the engine's facade (hakobune.engine.Engine)
only: networks and volumes first, then the services in dependency order,
each service's containers found again by their com.docker.compose.* labels.

    project = Project(engine, model, progress)   # progress(kind, name, status)
    project.up(services, UpOptions(...))
    project.down(volumes=True)

A container whose config hash is unchanged is left alone ("Running") or
started; one whose hash changed is recreated.  Dependencies' conditions
(service_started, service_healthy, service_completed_successfully) are
waited for before a service's containers start.
"""

from __future__ import annotations

import time

from hakobune.compose import convert as C
from hakobune.compose.loader import ComposeError
from hakobune.compose.services import dependencies_of, replicas_of, startup_order
from hakobune.errors import HakobuneError, NotFound

ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # what Docker labels a volume made for a container's path

HEALTH_POLL = 0.2


class UpOptions:
    def __init__(self, build: bool = False, no_build: bool = False, force_recreate: bool = False,
                 no_recreate: bool = False, no_deps: bool = False, remove_orphans: bool = False, scale=None,
                 no_start: bool = False, pull: str = "missing", renew_anon_volumes: bool = False):
        self.build = build
        self.no_build = no_build
        self.force_recreate = force_recreate
        self.no_recreate = no_recreate
        self.no_deps = no_deps
        self.remove_orphans = remove_orphans
        self.scale = dict(scale or {})
        self.no_start = no_start
        self.pull = pull
        self.renew_anon_volumes = renew_anon_volumes


def _labels(record: dict) -> dict:
    return record["Config"].get("Labels") or {}


def number_of(record: dict) -> int:
    try:
        return int(_labels(record).get(C.NUMBER, "0"))
    except ValueError:
        return 0


def name_of(record: dict) -> str:
    return record["Name"].lstrip("/")


class Project:
    def __init__(self, engine, model: dict, progress=None):
        self.engine = engine
        self.model = model
        self.name = model["name"]
        self.progress = progress or (lambda kind, name, status: None)

    # --- listing --------------------------------------------------------------------------------

    def containers(self, services=(), all: bool = True,  # noqa: A002 - Docker's parameter name
                   oneoff: bool | None = False) -> list[tuple[dict, dict]]:
        """(record, state) pairs of the project's containers, by service then number."""
        labels = [f"{C.PROJECT}={self.name}"]
        if oneoff is not None:
            labels.append(f"{C.ONEOFF}={'True' if oneoff else 'False'}")
        pairs = self.engine.containers(all=all, filters={"label": labels})
        if services:
            pairs = [p for p in pairs if _labels(p[0]).get(C.SERVICE) in services]
        return sorted(pairs, key=lambda p: (_labels(p[0]).get(C.SERVICE, ""), number_of(p[0]), name_of(p[0])))

    def service_containers(self, service: str, all: bool = True) -> list[tuple[dict, dict]]:  # noqa: A002
        return self.containers([service], all=all)

    def orphans(self) -> list[tuple[dict, dict]]:
        return [p for p in self.containers() if _labels(p[0]).get(C.SERVICE) not in self.model["services"]]

    def selected(self, services, with_dependencies: bool = True) -> list[str]:
        """The services named (all when none), with what they depend on, in start order."""
        for name in services or ():
            if name not in self.model["services"]:
                raise ComposeError(f"no such service: {name}")
        wanted = set(services or self.model["services"])
        if with_dependencies:
            pending = list(wanted)
            while pending:
                for dependency in dependencies_of(self.model["services"][pending.pop()]):
                    if dependency in self.model["services"] and dependency not in wanted:
                        wanted.add(dependency)
                        pending.append(dependency)
        return [name for name in startup_order(self.model) if name in wanted]

    # --- networks and volumes ---------------------------------------------------------------------

    def ensure_networks(self) -> None:
        for key, network in (self.model.get("networks") or {}).items():
            name = network["name"]
            try:
                self.engine.network_inspect(name)
                continue
            except NotFound:
                if network.get("external"):
                    raise ComposeError(f"network {name} declared as external, but could not be found") from None
            self.progress("Network", name, "Creating")
            options = {"internal": bool(network.get("internal")), "attachable": bool(network.get("attachable")),
                       "labels": {**(network.get("labels") or {}), C.PROJECT: self.name, C.NETWORK: key,
                                  C.VERSION: C.COMPOSE_VERSION},
                       "options": dict(network.get("driver_opts") or {})}
            pools = [{"Subnet": pool.get("subnet"), "Gateway": pool.get("gateway"), "IPRange": pool.get("ip_range")}
                     for pool in ((network.get("ipam") or {}).get("config") or []) if pool]
            if pools:
                options["ipam_config"] = pools
            if network.get("enable_ipv6"):
                options["enable_ipv6"] = True
            self.engine.create_network(name, network.get("driver") or "bridge", **options)
            self.progress("Network", name, "Created")

    def ensure_volumes(self) -> None:
        for key, volume in (self.model.get("volumes") or {}).items():
            name = volume["name"]
            try:
                self.engine.volume_inspect(name)
                continue
            except NotFound:
                if volume.get("external"):
                    raise ComposeError(f"external volume \"{name}\" not found") from None
            self.progress("Volume", f'"{name}"', "Creating")
            labels = {**(volume.get("labels") or {}), C.PROJECT: self.name, C.VOLUME: key,
                      C.VERSION: C.COMPOSE_VERSION}
            self.engine.create_volume(name, volume.get("driver") or "local", labels,
                                      {str(k): str(v) for k, v in (volume.get("driver_opts") or {}).items()} or None)
            self.progress("Volume", f'"{name}"', "Created")

    # --- images -----------------------------------------------------------------------------------

    def has_image(self, reference: str) -> bool:
        try:
            self.engine.image_inspect(reference)
            return True
        except NotFound:
            return False

    def build(self, service_name: str, output, no_cache: bool = False, pull: bool = False) -> str:
        import os

        from hakobune.build.builder import BuildOptions
        from hakobune.build.ignore import load_patterns

        build = self.model["services"][service_name]["build"]
        context = build["context"]
        dockerfile = os.path.join(context, build["dockerfile"])
        try:
            with open(dockerfile, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            raise ComposeError(f"services.{service_name}.build: failed to read dockerfile: open {dockerfile}: "
                               f"{(e.strerror or str(e)).lower()}") from None
        options = BuildOptions(context, text, os.path.basename(dockerfile), tags=[C.image_of(self.model, service_name)],
                               build_args={k: v for k, v in (build.get("args") or {}).items() if v is not None},
                               labels=dict(build.get("labels") or {}), target=build.get("target", ""),
                               no_cache=no_cache, pull=pull, ignore_patterns=load_patterns(context, dockerfile))
        return self.engine.build_image(options, output)

    def pull(self, service_name: str) -> None:
        image = self.model["services"][service_name].get("image")
        if image:
            self.engine.pull(image)

    def ensure_image(self, service_name: str, options: UpOptions, build_output) -> None:
        service = self.model["services"][service_name]
        image = C.image_of(self.model, service_name)
        policy = service.get("pull_policy") or options.pull
        if "build" in service and not options.no_build and (options.build or policy == "build"
                                                              or not self.has_image(image)):
            self.build(service_name, build_output)
            return
        if policy == "never" and not self.has_image(image):
            raise ComposeError(f"service {service_name}: image {image} not found and pull_policy is never")
        if policy == "always" or not self.has_image(image):
            if "image" not in service:
                raise ComposeError(f"service {service_name}: image {image} not found and no build")
            self.progress("Image", image, "Pulling")
            self.engine.pull(image)
            self.progress("Image", image, "Pulled")

    # --- up ---------------------------------------------------------------------------------------

    def up(self, services, options: UpOptions, build_output=None) -> list[str]:
        """Converge the services (and what they depend on); the ids of their containers."""
        names = self.selected(services, with_dependencies=not options.no_deps)
        if options.remove_orphans:
            for record, _ in self.orphans():
                self._remove(record, force=True)
        for name in names:  # images first: a failed build creates nothing
            self.ensure_image(name, options, build_output or (lambda text: None))
        self.ensure_networks()
        self.ensure_volumes()
        ids = []
        for name in names:
            if not options.no_deps:
                self.wait_dependencies(name)
            ids += self.converge_service(name, options)
        return ids

    def converge_service(self, service_name: str, options: UpOptions) -> list[str]:
        service = self.model["services"][service_name]
        wanted = options.scale.get(service_name, replicas_of(service))
        if wanted > 1 and service.get("container_name"):
            raise ComposeError(f'services.{service_name}: can\'t set container_name and {service_name} as container '
                               "name must be unique")
        digest = C.config_hash(service)
        image_id = self._image_id(C.image_of(self.model, service_name))
        existing = {number_of(r): (r, s) for r, s in self.service_containers(service_name)}
        for number in sorted(existing):
            if number > wanted:
                self._remove(existing.pop(number)[0], force=True)
        ids = []
        for number in range(1, wanted + 1):
            pair = existing.get(number)
            if pair is not None:
                record, state = pair
                same = (_labels(record).get(C.CONFIG_HASH) == digest and not options.force_recreate
                        and (image_id is None or record.get("Image") == image_id))  # a rebuilt image: recreate
                if same or options.no_recreate:
                    ids.append(self._keep(record, state, options))
                    continue
                self.progress("Container", name_of(record), "Recreate")
                kept = {} if options.renew_anon_volumes else self._anonymous_volumes(record)
                self._remove(record, force=True, quiet=True)
                container_id = self._create(service_name, number, kept)
                self.progress("Container", name_of(record), "Recreated")
            else:
                container_id = self._create(service_name, number)
            ids.append(container_id)
            if not options.no_start:
                self._start(container_id)
        return ids

    def _image_id(self, reference: str) -> str | None:
        try:
            return self.engine.image_inspect(reference)["Id"]
        except NotFound:
            return None

    def _keep(self, record: dict, state: dict, options: UpOptions) -> str:
        if state.get("Running"):
            self.progress("Container", name_of(record), "Running")
        elif not options.no_start:
            self._start(record["Id"])
        return record["Id"]

    def _anonymous_volumes(self, record: dict) -> dict:
        """{container path: volume name} of the anonymous volumes a container
        uses (made by it, or kept from the container it replaced)."""
        kept = {}
        for mount in self.engine.container_inspect(record["Id"]).get("Mounts") or []:
            if mount.get("Type") != "volume" or not mount.get("Name"):
                continue
            try:
                labels = self.engine.volume_inspect(mount["Name"]).get("Labels") or {}
            except NotFound:
                continue
            if ANONYMOUS_LABEL in labels:
                kept[mount["Destination"]] = mount["Name"]
        return kept

    def _create(self, service_name: str, number: int, anonymous_volumes=None) -> str:
        """Create the container; `anonymous_volumes` ({path: volume}) are those
        of the container it replaces, mounted again at the same paths (as
        docker-compose does unless -V) where the service mounts nothing else."""
        name = C.container_name(self.model, service_name, number)
        self.progress("Container", name, "Creating")
        body = C.create_body(self.model, service_name, number)
        if anonymous_volumes:
            C.keep_anonymous_volumes(body, anonymous_volumes)
        try:
            record = self.engine.create_container(body, name)
        except Exception as e:
            raise ComposeError(f"service {service_name}: {e}") from None
        self.progress("Container", name, "Created")
        return record["Id"]

    def _start(self, container_id: str) -> None:
        record = self.engine.container_inspect(container_id)
        name = record["Name"].lstrip("/")
        self.progress("Container", name, "Starting")
        try:
            self.engine.start_container(container_id)
        except Exception as e:
            service = (record["Config"].get("Labels") or {}).get(C.SERVICE, name)
            raise ComposeError(f"Error response from daemon: service {service}: {e}") from None
        self.progress("Container", name, "Started")

    # --- dependencies -------------------------------------------------------------------------------

    def wait_dependencies(self, service_name: str, timeout: float | None = None) -> None:
        for dependency, settings in (self.model["services"][service_name].get("depends_on") or {}).items():
            if dependency not in self.model["services"]:
                continue
            condition = settings.get("condition", "service_started")
            for record, _ in self.service_containers(dependency):
                self.wait_condition(record, condition, timeout)

    def wait_condition(self, record: dict, condition: str, timeout: float | None = None) -> None:
        name = name_of(record)
        deadline = None if timeout is None else time.monotonic() + timeout
        if condition == "service_started":
            return
        if condition == "service_healthy":
            self.progress("Container", name, "Waiting")
        while True:
            state = self.engine.container_inspect(record["Id"])["State"]
            if condition == "service_healthy":
                health = (state.get("Health") or {}).get("Status")
                if health is None and state["Running"]:
                    raise ComposeError(f"container {name} has no healthcheck configured")
                if health == "healthy":
                    self.progress("Container", name, "Healthy")
                    return
                if health == "unhealthy":
                    raise ComposeError(f"dependency failed to start: container {name} is unhealthy")
                if not state["Running"]:
                    raise ComposeError(f"dependency failed to start: container {name} exited "
                                       f"({state['ExitCode']})")
            else:  # service_completed_successfully
                if not state["Running"] and state["Status"] in ("exited", "dead"):
                    if state["ExitCode"] != 0:
                        service = _labels(record).get(C.SERVICE, name)
                        raise ComposeError(f'service "{service}" didn\'t complete successfully: exit '
                                           f'{state["ExitCode"]}')
                    self.progress("Container", name, "Exited")
                    return
            if deadline is not None and time.monotonic() > deadline:
                raise ComposeError(f"timeout waiting for container {name}")
            time.sleep(HEALTH_POLL)

    def wait_running(self, ids, timeout: float | None = None) -> None:
        """--wait: every container running (and healthy when it has a health check)."""
        for container_id in ids:
            record = self.engine.container_inspect(container_id)
            test = (record["Config"].get("Healthcheck") or {}).get("Test") or ["NONE"]
            if test[0] != "NONE":
                self.wait_condition(record, "service_healthy", timeout)
            elif not record["State"]["Running"]:
                raise ComposeError(f"container {record['Name'].lstrip('/')} exited ({record['State']['ExitCode']})")

    # --- stop, remove, down -----------------------------------------------------------------------------

    def _remove(self, record: dict, force: bool = False, quiet: bool = False, volumes: bool = False,
                timeout: float | None = None) -> None:
        """Stop and remove a container; with `volumes`, its anonymous volumes
        too, those it inherited from the container it replaced included."""
        name = name_of(record)
        if not quiet:
            self.progress("Container", name, "Stopping")
        try:
            self.engine.stop_container(record["Id"], self._stop_timeout(record) if timeout is None else timeout)
            if not quiet:
                self.progress("Container", name, "Stopped")
                self.progress("Container", name, "Removing")
            self._remove_container(record, force, volumes)
        except NotFound:
            pass
        if not quiet:
            self.progress("Container", name, "Removed")

    def _remove_container(self, record: dict, force: bool, volumes: bool) -> None:
        """engine.remove_container; with `volumes`, the anonymous volumes it
        inherited from the container it replaced go too (the engine removes
        those it made)."""
        inherited = list(self._anonymous_volumes(record).values()) if volumes else []
        self.engine.remove_container(record["Id"], force=force, volumes=volumes)
        for volume in inherited:
            try:
                self.engine.remove_volume(volume, force=True)
            except HakobuneError:
                pass  # still used by another container: kept, as Docker keeps it

    @staticmethod
    def _stop_timeout(record: dict):
        return record["Config"].get("StopTimeout")

    def stop(self, services=(), timeout: float | None = None) -> None:
        for record, state in reversed(self._running(services)):
            self.progress("Container", name_of(record), "Stopping")
            self.engine.stop_container(record["Id"], timeout if timeout is not None else self._stop_timeout(record))
            self.progress("Container", name_of(record), "Stopped")

    def _running(self, services) -> list[tuple[dict, dict]]:
        order = {name: index for index, name in enumerate(startup_order(self.model))}
        pairs = [p for p in self.containers(services, all=False)]
        return sorted(pairs, key=lambda p: (order.get(_labels(p[0]).get(C.SERVICE), -1), number_of(p[0])))

    def start(self, services=()) -> None:
        for name in self.selected(services, with_dependencies=False):
            self.wait_dependencies(name)
            for record, state in self.service_containers(name):
                if not state["Running"]:
                    self._start(record["Id"])

    def restart(self, services=(), timeout: float | None = None) -> None:
        for record, _ in self.containers(services):
            self.progress("Container", name_of(record), "Restarting")
            self.engine.restart_container(record["Id"], timeout)
            self.progress("Container", name_of(record), "Started")

    def kill(self, services=(), signal: str = "KILL") -> None:
        for record, _ in self.containers(services, all=False):
            self.progress("Container", name_of(record), "Killing")
            self.engine.kill_container(record["Id"], signal)
            self.progress("Container", name_of(record), "Killed")

    def remove_stopped(self, services=(), stop: bool = False, volumes: bool = False) -> list[dict]:
        if stop:
            self.stop(services)
        removed = []
        for record, state in self.containers(services):
            if state["Running"]:
                continue
            self.progress("Container", name_of(record), "Removing")
            self._remove_container(record, True, volumes)
            self.progress("Container", name_of(record), "Removed")
            removed.append(record)
        return removed

    def down(self, volumes: bool = False, remove_orphans: bool = False, rmi: str = "", timeout=None) -> None:
        order = {name: index for index, name in enumerate(startup_order(self.model))}
        pairs = self.containers(oneoff=None)
        known = [p for p in pairs if _labels(p[0]).get(C.SERVICE) in self.model["services"]
                 or _labels(p[0]).get(C.ONEOFF) == "True"]
        orphans = [p for p in pairs if p not in known]
        if orphans and not remove_orphans:
            names = ", ".join(name_of(r) for r, _ in orphans)
            self.progress("Warning", "", f"Found orphan containers ([{names}]) for this project. If you removed "
                          "or renamed this service in your compose file, you can run this command with the "
                          "--remove-orphans flag to clean it up.")
        targets = known + (orphans if remove_orphans else [])
        targets.sort(key=lambda p: (-order.get(_labels(p[0]).get(C.SERVICE), -1), -number_of(p[0])))
        for record, _ in targets:
            self._remove(record, force=True, volumes=volumes, timeout=timeout)
        for key, network in (self.model.get("networks") or {}).items():
            if network.get("external"):
                continue
            try:
                self.engine.network_inspect(network["name"])
            except NotFound:
                continue
            self.progress("Network", network["name"], "Removing")
            self.engine.remove_network(network["name"])
            self.progress("Network", network["name"], "Removed")
        if volumes:
            self.remove_volumes()
        if rmi:
            self.remove_images(rmi)

    def remove_volumes(self) -> None:
        for key, volume in (self.model.get("volumes") or {}).items():
            if volume.get("external"):
                continue
            try:
                self.engine.volume_inspect(volume["name"])
            except NotFound:
                continue
            self.progress("Volume", volume["name"], "Removing")
            self.engine.remove_volume(volume["name"])
            self.progress("Volume", volume["name"], "Removed")

    def remove_images(self, which: str) -> None:
        from hakobune.errors import HakobuneError

        for name, service in self.model["services"].items():
            if which == "local" and service.get("image"):
                continue  # "local": only the images named after the service (builds without an image name)
            image = C.image_of(self.model, name)
            try:
                self.engine.remove_image(image)
            except NotFound:
                continue
            except HakobuneError as e:
                self.progress("Warning", "", f"image {image} not removed: {e}")
                continue
            self.progress("Image", image, "Removed")
