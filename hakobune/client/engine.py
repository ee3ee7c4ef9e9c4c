"""`RemoteEngine`: the methods the CLI's handlers call on
hakobune.engine.Engine (same names, arguments and return shapes), each an
Engine API call.  What only a local engine has (its store objects, log
files, monitors) is missing: asking for it raises `Unsupported` ("hakobune
X is not supported against a remote engine yet", exit 125).  Handlers that
follow containers go through `hakobune.cli.remote` instead (`remote` is
True here and absent on the local engine)."""

import contextlib
import sys

from hakobune.client.connection import Client, filters_json, path_of
from hakobune.client.errors import Unsupported
from hakobune.errors import HakobuneError, InvalidArgument, NotFound, SystemFailure


def _flag(value) -> str | None:
    return "1" if value else None


def split_reference(text: str) -> tuple[str, str]:
    """(repository, tag or digest) of NAME[:TAG|@DIGEST] ("" when absent)."""
    if "@" in text:
        name, _, digest = text.partition("@")
        return name, digest
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        return text[:colon], text[colon + 1:]
    return text, ""


def api_time(value: str | None) -> str | None:
    """--since/--until as the docker CLI sends them: relative times ("10m")
    and RFC 3339 times as Unix seconds with nanoseconds, numbers as they are."""
    if not value:
        return None
    from hakobune.engine.engine import _time_bound_ns

    try:
        ns = _time_bound_ns(value)
    except HakobuneError:
        return value  # the server's message says what is wrong with it
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def _path_stat(headers: dict) -> dict:
    import base64
    import json

    text = headers.get("x-docker-container-path-stat") or ""
    try:
        return json.loads(base64.b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise SystemFailure("the server sent no valid X-Docker-Container-Path-Stat header") from None


class RemoteEngine:
    """The Engine facade over an API endpoint, for the command `command_path`
    (named in the "not supported" error)."""

    remote = True

    def __init__(self, endpoint, command_path: str = "hakobune"):
        self.endpoint = endpoint
        self.command_path = command_path
        self.client = Client(endpoint)

    def __getattr__(self, name: str):
        """Anything of the local engine's that is not here: the command cannot run remotely."""
        if name.startswith("__"):
            raise AttributeError(name)
        raise Unsupported(self.command_path)

    def unsupported(self):
        return Unsupported(self.command_path)

    # --- images ------------------------------------------------------------------------

    def images(self, all: bool = False, filters: dict | None = None) -> list[dict]:  # noqa: A002
        return self.client.call("GET", "/images/json", {"all": _flag(all), "filters": filters_json(filters)}) or []

    def image_inspect(self, ref: str) -> dict:
        return self.client.call("GET", path_of("/images/{}/json", ref))

    def history(self, ref: str) -> list[dict]:
        return self.client.call("GET", path_of("/images/{}/history", ref)) or []

    def tag(self, source: str, target: str) -> None:
        repository, tag = split_reference(target)
        self.client.request("POST", path_of("/images/{}/tag", source),
                            {"repo": repository, "tag": tag or "latest"}).read()

    def remove_images(self, refs, force: bool = False, no_prune: bool = False) -> tuple[list[dict], list]:
        items, errors = [], []
        for ref in refs:
            try:
                items += self.client.call("DELETE", path_of("/images/{}", ref),
                                          {"force": _flag(force), "noprune": _flag(no_prune)}) or []
            except HakobuneError as e:
                errors.append(e)
        return items, errors

    def prune_images(self, all: bool = False, filters: dict | None = None) -> dict:  # noqa: A002
        filters = dict(filters or {})
        if all:
            filters.setdefault("dangling", ["false"])
        return self.client.call("POST", "/images/prune", {"filters": filters_json(filters)}) or {}

    def pull(self, reference: str, platform: str | None = None, progress=None) -> str:
        repository, tag = split_reference(reference)
        query = {"fromImage": repository, "tag": tag or "latest", "platform": platform}
        self._progress_stream(self.client.request("POST", "/images/create", query, headers=self._auth(reference)),
                              progress)
        return reference

    def pull_all_tags(self, reference: str, platform: str | None = None, progress=None) -> None:
        query = {"fromImage": reference, "platform": platform}
        self._progress_stream(self.client.request("POST", "/images/create", query, headers=self._auth(reference)),
                              progress)

    def push(self, reference: str, progress=None) -> str:
        repository, tag = split_reference(reference)
        response = self.client.request("POST", path_of("/images/{}/push", repository), {"tag": tag or None},
                                       headers=self._auth(reference))
        self._progress_stream(response, progress)
        return reference

    def push_all_tags(self, reference: str, progress=None) -> None:
        self._progress_stream(self.client.request("POST", path_of("/images/{}/push", reference),
                                                  headers=self._auth(reference)), progress)

    @staticmethod
    def _auth(reference: str = "") -> dict:
        """X-Registry-Auth as the docker CLI sends it: the client's stored
        credentials for the reference's registry (empty when there are none)."""
        import base64
        import json

        document = {}
        try:
            from hakobune.image.registry.auth import credentials_for
            from hakobune.oci.reference import parse_named

            host = parse_named(reference).domain if reference else ""
            found = credentials_for(host) if host else None
        except HakobuneError:
            found = None
        if found is not None:
            document = {"username": found.username, "password": found.password, "serveraddress": host}
        return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(document).encode()).decode()}

    # --- login (checked by the server, stored on this side, as docker does) ---------------------

    def login(self, server: str | None, username: str, password: str) -> str:
        from hakobune.engine.engine import registry_server
        from hakobune.image.registry.auth import login as store

        host = registry_server(server)
        self.client.call("POST", "/auth", body={"username": username, "password": password,
                                                "serveraddress": server or host})
        store(host, username, password, verify=False)
        return host

    def credentials_file(self) -> str:
        from hakobune.image.registry.auth import config_path

        return config_path()

    def logout(self, server: str | None) -> bool:
        from hakobune.engine.engine import registry_server
        from hakobune.image.registry.auth import logout

        return logout(registry_server(server))

    @staticmethod
    def _progress_stream(response, progress) -> list[dict]:
        """Hand each JSON progress message to `progress(status, id)`; raise its error."""
        from hakobune.client.http import iter_json_messages

        messages = []
        try:
            for message in iter_json_messages(response.pieces()):
                messages.append(message)
                error = message.get("errorDetail", {}).get("message") or message.get("error")
                if error:
                    raise SystemFailure(error)
                status = message.get("status")
                if status and progress is not None:
                    progress(status, message.get("id"))
        finally:
            response.close()
        return messages

    def import_image(self, stream, reference: str | None = None, changes=(), message: str | None = None,
                     platform: str | None = None) -> str:
        from urllib.parse import urlencode

        repository, tag = split_reference(reference) if reference else ("", "")
        pairs = [("fromSrc", "-")] + [(k, v) for k, v in (("repo", repository), ("tag", tag), ("message", message),
                                                         ("platform", platform)) if v]
        pairs += [("changes", change) for change in changes or ()]
        response = self.client.request("POST", "/images/create?" + urlencode(pairs), body=stream)
        messages = self._progress_stream(response, None)
        for message in reversed(messages):
            if message.get("status", "").startswith("sha256:"):
                return message["status"]
        return ""

    def save_images(self, refs, out_stream) -> None:
        from urllib.parse import urlencode

        response = self.client.request("GET", "/images/get?" + urlencode([("names", ref) for ref in refs]))
        try:
            for piece in response.pieces():
                out_stream.write(piece)
        finally:
            response.close()

    def load_images(self, in_stream, quiet: bool = False) -> list[str]:
        response = self.client.request("POST", "/images/load", {"quiet": _flag(quiet)}, body=in_stream)
        messages = self._progress_stream(response, None)
        return [m["stream"].rstrip("\n") for m in messages if m.get("stream", "").strip()]

    # --- inspect -----------------------------------------------------------------------------

    def inspect_any(self, name: str, type: str | None = None) -> tuple[str, dict]:  # noqa: A002
        """docker inspect's order: container, image, network, volume."""
        lookups = (("container", self.container_inspect), ("image", self.image_inspect),
                   ("network", self.network_inspect), ("volume", self.volume_inspect))
        for kind, lookup in lookups:
            if type and type != kind:
                continue
            try:
                return kind, lookup(name)
            except (NotFound, InvalidArgument):
                if type:
                    raise
        if type and type not in ("node", "service", "task", "config", "secret", "plugin"):
            raise InvalidArgument(f'"{type}" is not a valid value for --type')
        raise NotFound(f"No such object: {name}")

    # --- containers ----------------------------------------------------------------------------

    def create_container(self, body: dict, name: str | None = None) -> dict:
        answer = self.client.call("POST", "/containers/create", {"name": name}, body=body)
        for warning in answer.get("Warnings") or ():
            sys.stderr.write(f"WARNING: {warning}\n")
        return answer

    def start_container(self, name: str) -> tuple[dict, bool]:
        response = self.client.request("POST", path_of("/containers/{}/start", name))
        response.read()
        return {"Id": name}, response.status != 304

    def stop_container(self, name: str, timeout: float | None = None, signal: str | None = None) -> dict:
        query = {"t": None if timeout is None else str(int(timeout)), "signal": signal}
        self.client.request("POST", path_of("/containers/{}/stop", name), query).read()
        return {"Id": name}

    def restart_container(self, name: str, timeout: float | None = None, signal: str | None = None) -> dict:
        query = {"t": None if timeout is None else str(int(timeout)), "signal": signal}
        self.client.request("POST", path_of("/containers/{}/restart", name), query).read()
        return {"Id": name}

    def kill_container(self, name: str, signal: str = "KILL") -> dict:
        self.client.request("POST", path_of("/containers/{}/kill", name), {"signal": signal or "KILL"}).read()
        return {"Id": name}

    def signal_container(self, container_id: str, signal_name: str) -> None:
        self.kill_container(container_id, signal_name)

    def pause_container(self, name: str) -> dict:
        self.client.request("POST", path_of("/containers/{}/pause", name)).read()
        return {"Id": name}

    def unpause_container(self, name: str) -> dict:
        self.client.request("POST", path_of("/containers/{}/unpause", name)).read()
        return {"Id": name}

    def wait_container(self, name: str, condition: str = "not-running") -> int:
        answer = self.client.call("POST", path_of("/containers/{}/wait", name), {"condition": condition})
        error = (answer.get("Error") or {}).get("Message")
        if error:
            raise SystemFailure(error)
        return int(answer.get("StatusCode", 0))

    def rename_container(self, name: str, new_name: str) -> dict:
        self.client.request("POST", path_of("/containers/{}/rename", name), {"name": new_name}).read()
        return {"Id": name}

    def remove_container(self, name: str, force: bool = False, volumes: bool = False) -> dict:
        self.client.request("DELETE", path_of("/containers/{}", name),
                            {"force": _flag(force), "v": _flag(volumes)}).read()
        return {"Id": name}

    def prune_containers(self, filters: dict | None = None) -> dict:
        return self.client.call("POST", "/containers/prune", {"filters": filters_json(filters)}) or {}

    def container_inspect(self, name: str, size: bool = False) -> dict:
        return self.client.call("GET", path_of("/containers/{}/json", name), {"size": _flag(size)})

    def container_id(self, name: str) -> str:
        return self.container_inspect(name)["Id"]

    def container_summaries(self, all: bool = False, filters: dict | None = None,  # noqa: A002
                            limit: int = 0, size: bool = False) -> list[dict]:
        """GET /containers/json: Docker's summaries (what `ps` prints remotely)."""
        query = {"all": _flag(all), "filters": filters_json(filters), "limit": str(limit) if limit > 0 else None,
                 "size": _flag(size)}
        return self.client.call("GET", "/containers/json", query) or []

    def containers(self, all: bool = False, filters: dict | None = None,  # noqa: A002
                   limit: int = 0) -> list[tuple[dict, dict]]:
        """(summary, {}) pairs: enough for the handlers that only want ids (stats)."""
        return [(summary, {}) for summary in self.container_summaries(all, filters, limit)]

    def container_changes(self, name: str) -> list[dict]:
        return self.client.call("GET", path_of("/containers/{}/changes", name)) or []

    def commit_container(self, name: str, reference: str | None = None, *, author: str = "",
                         comment: str = "", changes=(), pause: bool = True) -> str:
        from urllib.parse import urlencode

        repository, tag = split_reference(reference) if reference else ("", "")
        query = {"container": name, "author": author or None, "comment": comment or None,
                 "pause": "1" if pause else "0"}
        if repository:
            query.update(repo=repository, tag=tag or "latest")
        target = "/commit?" + urlencode([(k, v) for k, v in query.items() if v is not None]
                                        + [("changes", c) for c in changes or ()])
        return self.client.call("POST", target, body={})["Id"]

    def export_container(self, name: str, output) -> None:
        response = self.client.request("GET", path_of("/containers/{}/export", name))
        try:
            for piece in response.pieces():
                output.write(piece)
        finally:
            response.close()

    # --- archives (cp) ---------------------------------------------------------------------------

    def archive_stat(self, name: str, path: str) -> dict:
        """HEAD /containers/{id}/archive: the X-Docker-Container-Path-Stat document
        (an error's message comes from a GET, as HEAD answers have no body)."""
        response = self.client.request_quietly("HEAD", path_of("/containers/{}/archive", name), {"path": path})
        response.read()
        if response.status >= 400:
            self.client.request("GET", path_of("/containers/{}/archive", name), {"path": path}).close()
        return _path_stat(response.headers)

    @contextlib.contextmanager
    def archive_get(self, name: str, path: str):
        """GET /containers/{id}/archive: yields (stat, write(output)) as Engine's does."""
        response = self.client.request("GET", path_of("/containers/{}/archive", name), {"path": path})
        try:
            def write(output) -> None:
                for piece in response.pieces():
                    output.write(piece)

            yield _path_stat(response.headers), write
        finally:
            response.close()

    def archive_put(self, name: str, path: str, stream, *, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        query = {"path": path, "noOverwriteDirNonDir": "1" if no_overwrite_dir_non_dir else None,
                 "copyUIDGID": "1" if copy_uid_gid else None}
        self.client.request("PUT", path_of("/containers/{}/archive", name), query, body=stream).read()

    def top(self, name: str, ps_args: str | None = None) -> dict:
        return self.client.call("GET", path_of("/containers/{}/top", name), {"ps_args": ps_args})

    def container_stats(self, container_id: str, previous: dict | None = None) -> dict:
        return self.client.call("GET", path_of("/containers/{}/stats", container_id), {"stream": "0"})

    def update_container(self, name: str, update: dict) -> list[str]:
        answer = self.client.call("POST", path_of("/containers/{}/update", name), body=update) or {}
        return answer.get("Warnings") or []

    # --- volumes ---------------------------------------------------------------------------------

    def create_volume(self, name: str | None = None, driver: str | None = None, labels: dict | None = None,
                      options: dict | None = None) -> dict:
        # as the docker CLI sends it: empty maps left out (dockerd keeps `{}` as given, Options then not null)
        body = {"Driver": driver or "local", "DriverOpts": options or None, "Labels": labels or None,
                "Name": name or ""}
        body = {key: value for key, value in body.items() if value is not None}
        return self.client.call("POST", "/volumes/create", body=body)

    def volumes(self, filters: dict | None = None) -> dict:
        return self.client.call("GET", "/volumes", {"filters": filters_json(filters)}) or {"Volumes": None}

    def volume_inspect(self, name: str) -> dict:
        return self.client.call("GET", path_of("/volumes/{}", name))

    def remove_volume(self, name: str, force: bool = False) -> None:
        self.client.request("DELETE", path_of("/volumes/{}", name), {"force": _flag(force)}).read()

    def prune_volumes(self, all: bool = False, filters: dict | None = None) -> dict:  # noqa: A002
        filters = dict(filters or {})
        if all:
            filters.setdefault("all", ["true"])
        return self.client.call("POST", "/volumes/prune", {"filters": filters_json(filters)}) or {}

    # --- networks ----------------------------------------------------------------------------------

    def create_network(self, name: str, driver: str = "bridge", *, subnet=None, gateway=None, ip_range=None,
                       ipam_config=None, enable_ipv6: bool = False, internal: bool = False,
                       attachable: bool = False, labels=None, options=None, **_ignored) -> dict:
        """POST /networks/create with the body the docker CLI sends."""
        pools = list(ipam_config or ())
        single = {k: v for k, v in (("Subnet", subnet), ("Gateway", gateway), ("IPRange", ip_range)) if v}
        if single:
            pools.append(single)
        body = {"Name": name, "Driver": driver, "CheckDuplicate": True, "EnableIPv6": bool(enable_ipv6),
                "Internal": internal, "Attachable": attachable, "Labels": labels or {}, "Options": options or {},
                "IPAM": {"Driver": "default", "Config": pools, "Options": {}}}
        return self.client.call("POST", "/networks/create", body=body)

    def networks(self, filters: dict | None = None) -> list[dict]:
        return self.client.call("GET", "/networks", {"filters": filters_json(filters)}) or []

    def network_inspect(self, name: str) -> dict:
        return self.client.call("GET", path_of("/networks/{}", name))

    def remove_network(self, name: str) -> str:
        self.client.request("DELETE", path_of("/networks/{}", name)).read()
        return name

    def prune_networks(self, filters: dict | None = None) -> dict:
        return self.client.call("POST", "/networks/prune", {"filters": filters_json(filters)}) or {}

    def connect_container(self, network: str, container: str, aliases=(), ip: str = "", ip6: str = "",
                          mac: str = "") -> None:
        endpoint = {"Aliases": list(aliases) or None}
        if ip or ip6:
            endpoint["IPAMConfig"] = {k: v for k, v in (("IPv4Address", ip), ("IPv6Address", ip6)) if v}
        if mac:
            endpoint["MacAddress"] = mac
        self.client.request("POST", path_of("/networks/{}/connect", network),
                            body={"Container": container, "EndpointConfig": endpoint}).read()

    def disconnect_container(self, network: str, container: str, force: bool = False) -> None:
        self.client.request("POST", path_of("/networks/{}/disconnect", network),
                            body={"Container": container, "Force": force}).read()

    # --- system ----------------------------------------------------------------------------------

    def info(self) -> dict:
        return self.client.call("GET", "/info")

    def server_version(self) -> dict:
        return self.client.call("GET", "/version")

    def system_df(self) -> dict:
        return self.client.call("GET", "/system/df")

    def prune_build_cache(self, all: bool = False) -> dict:  # noqa: A002
        answer = self.client.call("POST", "/build/prune", {"all": _flag(all)}) or {}
        return {"CachesDeleted": answer.get("CachesDeleted") or [],
                "SpaceReclaimed": answer.get("SpaceReclaimed") or 0}

    def system_prune(self, all: bool = False, volumes: bool = False,  # noqa: A002
                     filters: dict | None = None) -> dict:
        """docker system prune: the prune endpoints in Docker's order."""
        report = {"Containers": self.prune_containers(filters), "Networks": self.prune_networks(filters)}
        if volumes:
            report["Volumes"] = self.prune_volumes(False, filters)
        report["Images"] = self.prune_images(all, filters)
        return report

    def events(self, since: str | None = None, until: str | None = None, filters: dict | None = None,
               follow: bool | None = None, stop=None):
        """GET /events: the server's events, as they come (a generator)."""
        from hakobune.client.http import iter_json_messages

        query = {"since": api_time(since), "until": api_time(until), "filters": filters_json(filters)}
        response = self.client.request("GET", "/events", query)
        try:
            for event in iter_json_messages(response.pieces()):
                yield event
                if stop is not None and stop():
                    return
        finally:
            response.close()

