"""Loading compose files: finding them, .env and interpolation, merging
several files, profiles, the project's name, canonical forms and errors."""

import os
import textwrap

import pytest

from hakobune.compose.interpolation import InterpolationError, substitute
from hakobune.compose.loader import ComposeError, LoadOptions, load, normalize_project_name, parse_dotenv, to_yaml


def _write(directory, name, text):
    path = os.path.join(str(directory), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def _load(directory, environ=None, **kw):
    return load(LoadOptions(workdir=str(directory), environ=environ or {}, **kw))


# --- interpolation ---------------------------------------------------------------------------------

VARS = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize("text, expected", [
    ("$SET", "value"), ("${SET}", "value"), ("a${SET}b", "avalueb"), ("$$SET", "$SET"), ("$$", "$"),
    ("${UNSET}", ""), ("$UNSET-x", "-x"),
    ("${UNSET:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"), ("${EMPTY-dflt}", ""), ("${UNSET-dflt}", "dflt"),
    ("${SET:-dflt}", "value"), ("${SET:+alt}", "alt"), ("${UNSET:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("${UNSET:-${SET}}", "value"), ("${UNSET:-a ${UNSET2:-b}}", "a b"), ("cost: 5$", "cost: 5$"),
])
def test_substitution(text, expected):
    assert substitute(text, VARS.get, "x") == expected


@pytest.mark.parametrize("text, message", [
    ("${UNSET:?must be set}", "required variable UNSET is missing a value: must be set"),
    ("${EMPTY:?}", "required variable EMPTY is missing a value"),
    ("${UNSET?gone}", "required variable UNSET is missing a value: gone"),
])
def test_required_variables(text, message):
    with pytest.raises(InterpolationError) as info:
        substitute(text, VARS.get, "services.web.image")
    assert str(info.value) == f"error while interpolating services.web.image: {message}"


def test_empty_is_accepted_by_the_question_mark_without_colon():
    assert substitute("${EMPTY?x}", VARS.get, "x") == ""


@pytest.mark.parametrize("text", ["${", "${SET", "${}", "${1A}", "${SET!x}"])
def test_bad_formats(text):
    with pytest.raises(InterpolationError) as info:
        substitute(text, VARS.get, "services.web.image")
    assert str(info.value).startswith("invalid interpolation format for services.web.image")


# --- names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("directory, name", [
    ("myapp", "myapp"), ("My App", "myapp"), ("My_Proj.X", "my_projx"), ("__Hidden-1", "hidden-1"),
    ("été-2024", "t-2024"), ("a.b.c", "abc"),
])
def test_project_name_normalization(directory, name):
    assert normalize_project_name(directory) == name


def test_project_name_precedence(tmp_path):
    project = tmp_path / "Some Dir"
    project.mkdir()
    _write(project, "compose.yaml", "name: declared\nservices:\n  a:\n    image: busybox\n")
    assert _load(project)["name"] == "declared"
    assert _load(project, {"COMPOSE_PROJECT_NAME": "fromenv"})["name"] == "fromenv"
    assert _load(project, {"COMPOSE_PROJECT_NAME": "fromenv"}, project_name="flag")["name"] == "flag"
    _write(project, "compose.yaml", "services:\n  a:\n    image: busybox\n")
    assert _load(project)["name"] == "somedir"
    with pytest.raises(ComposeError, match='invalid project name "Bad"'):
        _load(project, project_name="Bad")


# --- finding files, .env ---------------------------------------------------------------------------

def test_files_are_found_in_parents_in_docker_compose_order(tmp_path):
    _write(tmp_path, "docker-compose.yml", "services:\n  old:\n    image: busybox\n")
    _write(tmp_path, "compose.yml", "services:\n  new:\n    image: busybox\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    model = _load(nested)
    assert list(model["services"]) == ["new"]
    assert model["_project_dir"] == str(tmp_path)


def test_no_file_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="no configuration file provided: not found"):
        _load(tmp_path)


def test_dotenv_and_environment(tmp_path):
    _write(tmp_path, ".env", """\
        # comment
        TAG=1.36
        export QUOTED="a b\\nc"
        SINGLE='$literal'
        INLINE=x # comment
        """)
    assert parse_dotenv(str(tmp_path / ".env")) == {"TAG": "1.36", "QUOTED": "a b\nc", "SINGLE": "$literal",
                                                    "INLINE": "x"}
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    image: busybox:${TAG}\n")
    assert _load(tmp_path)["services"]["a"]["image"] == "busybox:1.36"
    assert _load(tmp_path, {"TAG": "env"})["services"]["a"]["image"] == "busybox:env"
    _write(tmp_path, "other.env", "TAG=other\n")
    assert _load(tmp_path, env_files=["other.env"])["services"]["a"]["image"] == "busybox:other"


# --- merging ------------------------------------------------------------------------------------------------

def test_several_files_merge(tmp_path):
    _write(tmp_path, "compose.yaml", """\
        services:
          web:
            image: busybox
            command: ["a"]
            environment: [A=1, B=2]
            ports: ["80:80"]
            volumes: ["data:/data", "./x:/x"]
            labels: {one: "1"}
        volumes:
          data: {}
        """)
    _write(tmp_path, "override.yaml", """\
        services:
          web:
            command: b c
            environment: {B: "3", C: "4"}
            ports: ["81:81"]
            volumes: ["./y:/x"]
            labels: [two=2]
          extra:
            image: busybox
        """)
    model = _load(tmp_path, files=["compose.yaml", "override.yaml"])
    web = model["services"]["web"]
    assert web["command"] == ["b", "c"]
    assert web["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert [p["published"] for p in web["ports"]] == ["80", "81"]
    assert {v["target"]: v.get("source") for v in web["volumes"]} == {"/data": "data", "/x": str(tmp_path / "y")}
    assert web["labels"] == {"one": "1", "two": "2"}
    assert list(model["services"]) == ["extra", "web"]


# --- canonical forms ----------------------------------------------------------------------------------------

def test_service_forms(tmp_path):
    _write(tmp_path, "vars.env", "FROMFILE=1\nB=file\n")
    _write(tmp_path, "compose.yaml", """\
        version: "2.4"
        services:
          web:
            build: ./ctx
            entrypoint: /bin/sh -c
            env_file: vars.env
            environment:
              B: mine
            ports:
              - target: 80
                published: 8080
              - "127.0.0.1::53/udp"
            volumes:
              - type: tmpfs
                target: /tmp
              - /anon
            networks:
              front:
                aliases: [www]
              back:
            depends_on:
              db:
                condition: service_healthy
            deploy:
              replicas: 1
              resources: {limits: {memory: 64m, cpus: "0.5", pids: 50}}
            healthcheck:
              test: curl -f http://localhost
              interval: 5s
          db:
            image: busybox
            network_mode: none
        networks:
          front: {}
          back: {external: true}
        """)
    model = _load(tmp_path)
    web = model["services"]["web"]
    assert web["build"] == {"context": str(tmp_path / "ctx"), "dockerfile": "Dockerfile"}
    assert web["entrypoint"] == ["/bin/sh", "-c"]
    assert web["environment"] == {"FROMFILE": "1", "B": "mine"}
    assert web["ports"] == [{"target": 80, "protocol": "tcp", "mode": "ingress", "published": "8080"},
                            {"target": 53, "protocol": "udp", "mode": "ingress", "host_ip": "127.0.0.1"}]
    assert web["volumes"] == [{"type": "tmpfs", "target": "/tmp"}, {"type": "volume", "target": "/anon"}]
    assert web["networks"] == {"front": {"aliases": ["www"]}, "back": None}
    assert web["depends_on"] == {"db": {"condition": "service_healthy", "required": True}}
    assert web["healthcheck"]["test"] == ["CMD-SHELL", "curl -f http://localhost"]
    assert "networks" not in model["services"]["db"]
    assert model["networks"] == {"front": {"name": f"{model['name']}_front"}, "back": {"external": True,
                                                                                      "name": "back"}}
    assert "version" not in to_yaml(model)


def test_profiles(tmp_path):
    _write(tmp_path, "compose.yaml", """\
        services:
          always: {image: busybox}
          debug: {image: busybox, profiles: [debug]}
          both: {image: busybox, profiles: [debug, test]}
        """)
    assert list(_load(tmp_path)["services"]) == ["always"]
    assert list(_load(tmp_path, profiles=["test"])["services"]) == ["always", "both"]
    assert list(_load(tmp_path, {"COMPOSE_PROFILES": "debug"})["services"]) == ["always", "both", "debug"]
    assert list(_load(tmp_path, profiles=["*"])["services"]) == ["always", "both", "debug"]


# --- errors ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("services:\n  a:\n    image: [busybox\n", "yaml: "),
    ("services:\n  a:\n    image: busybox\n    colour: red\n", "services.a additional properties 'colour' not allowed"),
    ("services:\n  a:\n    image: busybox\n    ports: 80\n", "services.a.ports must be a list"),
    ("services:\n  a:\n    image: busybox\n    tty: maybe\n", "services.a.tty must be a boolean"),
    ("services:\n  a:\n    command: x\n", 'service "a" has neither an image nor a build context specified'),
    ("services:\n  a:\n    image: busybox\n    depends_on: [b]\n", 'service "a" depends on undefined service "b"'),
    ("services:\n  a:\n    image: busybox\n    networks: [n]\n",
     'services.a.networks: service "a" refers to undefined network n: invalid compose project'),
    ("services:\n  a:\n    image: busybox\n    volumes: ['v:/v']\n", 'service "a" refers to undefined volume v'),
    ("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
     "dependency cycle detected: a -> b -> a"),
    ("services:\n  a:\n    image: busybox\n    depends_on: {b: {condition: bogus}}\n  b: {image: x}\n",
     "services.a.depends_on.b.condition must be one of"),
    ("colours: {}\n", "additional properties 'colours' not allowed"),
    ("services:\n  a:\n    image: busybox\n    healthcheck: {test: 'true', intervall: 1s}\n",
     "services.a.healthcheck additional properties 'intervall' not allowed"),
    ("services:\n  a:\n    image: busybox\n    ports: [{target: 80, publish: 8080}]\n",
     "services.a.ports[0] additional properties 'publish' not allowed"),
    ("services:\n  a:\n    image: busybox\n    networks: {n: {alias: [x]}}\nnetworks:\n  n: {}\n",
     "services.a.networks.n additional properties 'alias' not allowed"),
    ("services:\n  a:\n    image: busybox\n    depends_on: {b: {condtion: service_started}}\n  b: {image: x}\n",
     "services.a.depends_on.b additional properties 'condtion' not allowed"),
    ("services:\n  a:\n    image: busybox\n    volumes: [{type: volume, target: /x, readonly: true}]\n",
     "services.a.volumes[0] additional properties 'readonly' not allowed"),
    ("services:\n  a:\n    build: {context: ., dockerfil: x}\n", "services.a.build additional properties 'dockerfil'"),
    ("services:\n  a:\n    image: busybox:${NEED:?set NEED}\n",
     "error while interpolating services.a.image: required variable NEED is missing a value: set NEED"),
    ("services:\n  a: {image: x, ports: ['80:80']}\n  b: {image: x, ports: ['80:8080']}\n",
     'services.b.ports: host port 80/tcp on 0.0.0.0 is already published by service "a"'),
    ("services:\n  a: {image: x, ports: ['80:80'], scale: 2}\n",
     'services.a.ports: host port 80/tcp on 0.0.0.0 is already published by service "a"'),
])
def test_errors_name_the_file_and_key(tmp_path, text, message):
    path = _write(tmp_path, "compose.yaml", text)
    with pytest.raises(ComposeError) as info:
        _load(tmp_path)
    assert message in str(info.value)
    assert path in str(info.value)  # the file (those of the merged model: every file of it), with the key


def test_unsupported_keys_warn(tmp_path):
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    image: busybox\n"
                                     "    deploy: {replicas: 1, placement: {}, resources: {limits: {memory: 1g},"
                                     " reservations: {}}}\n    build: {context: ., cache_from: [x]}\ninclude: []\n")
    warnings = []
    load(LoadOptions(workdir=str(tmp_path), environ={}), warn=warnings.append)
    assert any("services.a.deploy.placement is not supported on hakobune" in w for w in warnings)
    assert any("services.a.deploy.resources.reservations is not supported" in w for w in warnings)
    assert any("services.a.build.cache_from is not supported" in w for w in warnings)
    assert not any("replicas" in w or "memory" in w for w in warnings)
    assert any("top-level `include`" in w for w in warnings)
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    image: busybox\n    networks: {n: {priority: 5}}\n"
                                     "    secrets: [{source: s, mode: 0400}]\nnetworks:\n  n: {}\n"
                                     "secrets:\n  s: {file: ./s}\n")
    warnings.clear()
    load(LoadOptions(workdir=str(tmp_path), environ={}), warn=warnings.append)
    assert any("services.a.networks.n.priority is not supported on hakobune" in w for w in warnings)
    assert any("services.a.secrets[0].mode is not supported on hakobune" in w for w in warnings)
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    image: busybox\n    logging: {driver: syslog}\n")
    warnings.clear()
    model = load(LoadOptions(workdir=str(tmp_path), environ={}), warn=warnings.append)
    assert any("hakobune has no log driver named 'syslog'" in w for w in warnings)
    from hakobune.compose.convert import create_body

    assert create_body(model, "a", 1)["HostConfig"]["LogConfig"] == {"Type": "", "Config": {}}


def test_secrets_and_configs_from_files(tmp_path):
    _write(tmp_path, "compose.yaml", """\
        services:
          a:
            image: busybox
            secrets: [token, {source: token, target: other}]
            configs: [{source: conf, target: /etc/app.conf}]
        secrets:
          token: {file: ./token.txt}
        configs:
          conf: {file: app.conf}
        """)
    model = _load(tmp_path)
    assert model["secrets"] == {"token": {"file": str(tmp_path / "token.txt")}}
    assert model["services"]["a"]["secrets"] == [{"source": "token"}, {"source": "token", "target": "other"}]
    from hakobune.compose.convert import create_body

    assert create_body(model, "a", 1)["HostConfig"]["Binds"] == [
        f"{tmp_path}/token.txt:/run/secrets/token:ro", f"{tmp_path}/token.txt:/run/secrets/other:ro",
        f"{tmp_path}/app.conf:/etc/app.conf:ro"]
    _write(tmp_path, "compose.yaml", "services:\n  a:\n    image: busybox\n    secrets: [nope]\n")
    with pytest.raises(ComposeError, match='service "a" refers to undefined secret nope'):
        _load(tmp_path)


def test_extends_in_the_same_file_and_another(tmp_path):
    _write(tmp_path, "common/base.yaml", """\
        services:
          base:
            image: busybox
            environment: {A: "1"}
            volumes: ["./data:/data"]
        """)
    _write(tmp_path, "compose.yaml", """\
        services:
          web:
            extends: {file: common/base.yaml, service: base}
            environment: {B: "2"}
          worker:
            extends: web
            command: work
            depends_on: [web]
        """)
    model = _load(tmp_path)
    web, worker = model["services"]["web"], model["services"]["worker"]
    assert web["image"] == "busybox" and web["environment"] == {"A": "1", "B": "2"}
    assert worker["environment"] == {"A": "1", "B": "2"} and worker["command"] == ["work"]
    assert web["volumes"][0]["source"] == str(tmp_path / "common" / "data")  # relative to the file extended
    _write(tmp_path, "compose.yaml", "services:\n  a: {extends: b, image: x}\n  b: {extends: a, image: x}\n")
    with pytest.raises(ComposeError, match="circular reference"):
        _load(tmp_path)
