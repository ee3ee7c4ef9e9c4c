"""The hakobune CLI as a client of an Engine API (hakobune.client): a
`hakobune serve` on a temporary socket over its own store (api_server's
fixture), driven with `hakobune -H unix://SOCK ...` and with DOCKER_HOST;
outputs compared with what the local CLI prints for the same store, errors
with Docker's messages and statuses."""

import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest

from api_server import HAKOBUNE, api  # noqa: F401 - fixture
from cli_store import local_env

pytestmark = pytest.mark.root

IMAGE = "busybox:local"


def remote(api, *args, via="host", input=None, env=None, timeout=60):
    """The hakobune CLI against the server: -H (via="host") or DOCKER_HOST (via="env")."""
    environment = {**local_env(), **(env or {})}
    if via == "env":
        environment["DOCKER_HOST"] = api.host
        command = [HAKOBUNE, *args]
    else:
        command = [HAKOBUNE, "-H", api.host, *args]
    return subprocess.run(command, capture_output=True, text=True, input=input, timeout=timeout,
                          env=environment)


def ok(api, *args, **kw):
    proc = remote(api, *args, **kw)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def local(api, *args):
    proc = api.hakobune(*args, env=local_env())
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def _timeless(text: str) -> str:
    """A table's cells with their ages blurred (the API's Created is in whole
    seconds, the local CLI's exact, so ages and column widths may differ)."""
    blurred = re.sub(r"(Less than a second|About a minute|\d+ seconds?)( ago)?", "AGE", text)
    return [re.split(r"\s{2,}", line.strip()) for line in blurred.splitlines()]


@pytest.fixture
def clean(api):
    yield api
    api.cleanup_containers()


def test_version_prints_client_and_server_sections(api):
    out = ok(api, "version")
    assert out.startswith("Client:\n Version:")
    assert re.search(r"^ API version:\s+1\.41$", out, re.M)
    assert re.search(r"^ Context:\s+default$", out, re.M)
    assert "\nServer: hakobune\n Engine:\n  Version:" in out
    assert re.search(r"^  API version:\s+1\.41 \(minimum version [\d.]+\)$", out, re.M)
    assert json.loads(ok(api, "version", "--format", "{{json .Server.ApiVersion}}")) == "1.41"


def test_info_counts_match_the_local_cli(clean):
    api = clean
    ok(api, "run", "-d", "--name", "rinfo", IMAGE, "sleep", "60")
    fields = "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}}"
    assert ok(api, "info", "--format", fields) == local(api, "info", "--format", fields)
    text = ok(api, "info", via="env")
    assert "Server:\n Containers: 1\n  Running: 1\n" in text


def test_ps_and_images_print_what_the_local_cli_prints(clean):
    api = clean
    ok(api, "run", "-d", "--name", "rps1", "--label", "k=v", IMAGE, "sleep", "60")
    ok(api, "create", "--name", "rps2", IMAGE, "true")
    for args in (("ps",), ("ps", "-a"), ("ps", "-a", "--no-trunc"), ("ps", "-aq"), ("ps", "-l"), ("ps", "-n", "1"),
                 ("ps", "-a", "--filter", "status=created", "--format", "{{.Names}} {{.State}} {{.Labels}}"),
                 ("ps", "-a", "--filter", "label=k=v", "--format", "{{.ID}} {{.Image}} {{.Command}}"),
                 ("ps", "--format", "json"),
                 ("images",), ("images", "-q"), ("images", "--no-trunc"), ("images", "--format", "{{.Repository}}"),
                 ("images", "busybox")):
        mine = remote(api, *args, via="env")
        assert mine.returncode == 0, (args, mine.stderr)
        theirs = local(api, *args)
        if "json" in args:
            mine_rows, their_rows = [json.loads(line) for line in mine.stdout.splitlines()], \
                [json.loads(line) for line in theirs.splitlines()]
            assert [r["ID"] for r in mine_rows] == [r["ID"] for r in their_rows]
            continue
        assert _timeless(mine.stdout) == _timeless(theirs), args
    size = ok(api, "ps", "-s", "--format", "{{.Names}} {{.Size}}")
    assert re.fullmatch(r"rps1 \S+ \(virtual \S+\)\n", size)
    bad = remote(api, "ps", "--filter", "nosuch=1")
    assert bad.returncode == 1 and bad.stderr.startswith("Error response from daemon: ")


def test_inspect_and_top_and_port(clean):
    api = clean
    cid = ok(api, "run", "-d", "--name", "rins", "-p", "127.0.0.1:18237:80", IMAGE, "sleep", "60").strip()
    mine = json.loads(ok(api, "inspect", "rins"))
    assert mine[0]["Id"] == cid and mine[0]["Name"] == "/rins"
    assert ok(api, "inspect", "-f", "{{.Id}} {{.State.Status}}", "rins", IMAGE) == \
        local(api, "inspect", "-f", "{{.Id}} {{.State.Status}}", "rins", IMAGE)
    assert ok(api, "container", "inspect", "-f", "{{.Config.Image}}", "rins") == f"{IMAGE}\n"
    assert json.loads(ok(api, "image", "inspect", IMAGE))[0]["Id"] == api.busybox_id
    missing = remote(api, "inspect", "nosuch")
    assert (missing.returncode, missing.stderr) == (1, "Error: No such object: nosuch\n")
    top = ok(api, "top", "rins")
    assert top.splitlines()[0].split()[:3] == ["UID", "PID", "PPID"] and "sleep 60" in top
    assert ok(api, "port", "rins") == local(api, "port", "rins") == "80/tcp -> 127.0.0.1:18237\n"


def test_run_attached_streams_and_exit_status(clean):
    api = clean
    proc = remote(api, "run", "--name", "rrun", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert ok(api, "ps", "-a", "--format", "{{.Names}} {{.Status}}").startswith("rrun Exited (3)")
    proc = remote(api, "run", "--rm", IMAGE, "sh", "-c", "echo gone", via="env")
    assert (proc.returncode, proc.stdout) == (0, "gone\n")
    assert ok(api, "ps", "-a", "--format", "{{.Names}}") == "rrun\n"
    # (a line read, not the end of stdin: the server's forwarding of EOF races the start, for docker too)
    proc = remote(api, "run", "-i", "--rm", IMAGE, "sh", "-c", "read line; echo $line | tr a-z A-Z; exit 4",
                  input="piped input\n")
    assert (proc.returncode, proc.stdout) == (4, "PIPED INPUT\n")
    proc = remote(api, "run", "-t", "--rm", IMAGE, "sh", "-c", "tty >/dev/null && echo on-a-tty")
    assert (proc.returncode, proc.stdout) == (0, "on-a-tty\n")  # (text mode reads \\r\\n as \\n)


def test_run_errors_as_docker_prints_them(clean):
    api = clean
    proc = remote(api, "run", "--rm", IMAGE, "/nonexistent")
    assert proc.returncode == 127, proc.stderr
    assert proc.stderr.startswith("hakobune: Error response from daemon: ")
    assert "Run 'hakobune run --help' for more information" in proc.stderr
    assert ok(api, "ps", "-aq") == ""  # --rm: not left behind though it never ran
    proc = remote(api, "run", "--rm", "--pull", "never", "nosuch-image:1", "true")
    assert proc.returncode == 125
    assert "No such image: nosuch-image:1" in proc.stderr
    ok(api, "create", "--name", "rdup", IMAGE)
    proc = remote(api, "create", "--name", "rdup", IMAGE)
    assert proc.returncode == 125 and "Conflict. The container name \"/rdup\" is already in use" in proc.stderr


def test_life_cycle_commands(clean):
    api = clean
    cid = ok(api, "create", "--name", "rlc", IMAGE, "sleep", "60").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert ok(api, "start", "rlc") == "rlc\n"
    assert ok(api, "pause", "rlc") == "rlc\n"
    assert "(Paused)" in ok(api, "ps", "--format", "{{.Status}}")
    assert ok(api, "unpause", "rlc") == "rlc\n"
    assert ok(api, "rename", "rlc", "rlc2") == ""
    assert ok(api, "restart", "-t", "1", "rlc2") == "rlc2\n"
    assert ok(api, "kill", "rlc2") == "rlc2\n"
    assert ok(api, "wait", "rlc2") == "137\n"
    assert ok(api, "start", "rlc2") == "rlc2\n"
    assert ok(api, "stop", "-t", "1", "rlc2") == "rlc2\n"
    assert ok(api, "rm", "rlc2") == "rlc2\n"
    assert ok(api, "ps", "-aq") == ""
    created = ok(api, "create", IMAGE, "sh", "-c", "echo attached; exit 2").strip()
    proc = remote(api, "start", "-a", created)
    assert (proc.returncode, proc.stdout) == (2, "attached\n")


def test_unknown_container_is_docker_s_message(api):
    for args in (("stop", "nosuch"), ("rm", "nosuch"), ("logs", "nosuch"), ("kill", "nosuch"),
                 ("wait", "nosuch"), ("exec", "nosuch", "true")):
        proc = remote(api, *args)
        assert proc.returncode == 1, (args, proc.stderr)
        prefix = "Cannot kill container: nosuch: " if args[0] == "kill" else ""  # dockerd's router adds it
        assert proc.stderr == f"Error response from daemon: {prefix}No such container: nosuch\n", args


def test_logs(clean):
    api = clean
    ok(api, "run", "--name", "rlogs", IMAGE, "sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done")
    proc = remote(api, "logs", "rlogs")
    assert (proc.stdout, proc.stderr) == ("out1\nout2\nout3\n", "err1\nerr2\nerr3\n")
    assert remote(api, "logs", "rlogs").stdout == api.hakobune("logs", "rlogs").stdout
    proc = remote(api, "logs", "--tail", "1", "-t", "rlogs")
    assert proc.stdout == "" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z err3\n", proc.stderr)
    ok(api, "run", "-d", "--name", "rfollow", IMAGE, "sh", "-c", "echo a; sleep 1; echo b")
    proc = remote(api, "logs", "-f", "rfollow", via="env")
    assert (proc.returncode, proc.stdout) == (0, "a\nb\n")


def test_exec(clean):
    api = clean
    ok(api, "run", "-d", "--name", "rexec", IMAGE, "sleep", "60")
    proc = remote(api, "exec", "rexec", "sh", "-c", "echo in; echo err >&2; exit 5")
    assert (proc.returncode, proc.stdout, proc.stderr) == (5, "in\n", "err\n")
    proc = remote(api, "exec", "-i", "rexec", "sh", "-c", "cat; exit 6", input="stdin\n")
    assert (proc.returncode, proc.stdout) == (6, "stdin\n")
    assert ok(api, "exec", "-d", "rexec", "touch", "/tmp/flag") == ""
    ok(api, "exec", "-e", "X=1", "-w", "/tmp", "rexec", "sh", "-c", 'test "$X$PWD" = 1/tmp')
    proc = remote(api, "exec", "rexec", "/nonexistent")
    assert proc.returncode == 127
    proc = remote(api, "exec", "-t", "rexec", "tty")
    assert proc.returncode == 0 and proc.stdout.startswith("/dev/pts/")
    ok(api, "stop", "-t", "0", "rexec")
    proc = remote(api, "exec", "rexec", "true")
    assert proc.returncode == 1 and "is not running" in proc.stderr


def test_volume_and_network_commands(clean):
    api = clean
    assert ok(api, "volume", "create", "rvol") == "rvol\n"
    try:
        assert ok(api, "volume", "ls", "-q") == local(api, "volume", "ls", "-q")
        assert ok(api, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "rvol") == "rvol local\n"
        network_id = ok(api, "network", "create", "rnet").strip()
        assert re.fullmatch(r"[0-9a-f]{64}", network_id)
        assert ok(api, "network", "ls") == local(api, "network", "ls")
        assert ok(api, "network", "inspect", "-f", "{{.Name}} {{.Driver}}", "rnet") == "rnet bridge\n"
        ok(api, "run", "-d", "--name", "rnetc", "--network", "rnet", "-v", "rvol:/data", IMAGE, "sleep", "60")
        assert ok(api, "ps", "--format", "{{.Networks}} {{.Mounts}}") == "rnet rvol\n"
        in_use = remote(api, "volume", "rm", "rvol")
        assert in_use.returncode == 1 and in_use.stderr.startswith("Error response from daemon: ")
        ok(api, "rm", "-f", "rnetc")
        assert ok(api, "network", "rm", "rnet") == "rnet\n"
        assert ok(api, "volume", "rm", "rvol") == "rvol\n"
        assert "rnet" not in ok(api, "network", "ls")
        assert ok(api, "volume", "ls", "-q") == ""
    finally:  # the bridge and its rules too, should an assertion fail
        remote(api, "rm", "-f", "rnetc")
        remote(api, "network", "rm", "rnet")
        remote(api, "volume", "rm", "rvol")


def test_cp_both_ways_and_build(clean, tmp_path):
    api = clean
    ok(api, "run", "-d", "--name", "rcp", IMAGE, "sleep", "60")
    (tmp_path / "in.txt").write_text("into the container\n")
    assert ok(api, "cp", str(tmp_path / "in.txt"), "rcp:/tmp/") == ""
    assert ok(api, "exec", "rcp", "cat", "/tmp/in.txt") == "into the container\n"
    out = tmp_path / "out"
    out.mkdir()
    ok(api, "cp", "rcp:/tmp/in.txt", str(out))
    assert (out / "in.txt").read_text() == "into the container\n"
    missing = remote(api, "cp", "rcp:/nothing", str(out))
    assert (missing.returncode, missing.stderr) == \
        (1, "Error response from daemon: Could not find the file /nothing in container rcp\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY a.txt /a.txt\nRUN cat /a.txt\n")
    (context / "a.txt").write_text("built remotely\n")
    proc = remote(api, "build", "-t", "rbuilt:1", str(context))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Sending build context to Docker daemon")
    assert "built remotely\n" in proc.stdout and "Successfully tagged rbuilt:1\n" in proc.stdout
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nRUN exit 3\n")
    failed = remote(api, "build", "-q", str(context))
    assert failed.returncode == 3 and "returned a non-zero code: 3" in failed.stderr
    ok(api, "rmi", "rbuilt:1")


def test_events_window(clean):
    api = clean
    ok(api, "run", "--rm", "--name", "revents", IMAGE, "true")
    proc = remote(api, "events", "--since", "60s", "--until", "0s", "--filter", "container=revents",
                  "--format", "{{.Action}}")
    assert proc.returncode == 0, proc.stderr
    actions = proc.stdout.split()
    assert "create" in actions and "start" in actions and "die" in actions and "destroy" in actions


def test_tag_rmi_and_commit(clean):
    api = clean
    assert ok(api, "tag", IMAGE, "rtag:v1") == ""
    assert "rtag" in ok(api, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert ok(api, "rmi", "rtag:v1") == "Untagged: rtag:v1\n"
    missing = remote(api, "rmi", "rtag:v1")
    assert missing.returncode == 1 and missing.stderr == "Error response from daemon: No such image: rtag:v1\n"
    ok(api, "run", "--name", "rcommit", IMAGE, "sh", "-c", "echo hi > /made")
    assert "A /made" in ok(api, "diff", "rcommit")
    image_id = ok(api, "commit", "rcommit", "rcommitted:1").strip()
    assert image_id.startswith("sha256:")
    assert ok(api, "run", "--rm", "rcommitted:1", "cat", "/made") == "hi\n"
    assert ok(api, "rmi", "rcommitted:1").startswith("Untagged: rcommitted:1\n")


def test_pull_and_push_through_the_server(clean):
    registry_server = pytest.importorskip("registry_server")
    if not os.path.exists(registry_server.REGISTRY):
        pytest.skip("needs Debian's docker-registry")
    api = clean
    with registry_server.Registry() as registry:
        reference = f"{registry.address}/remotepush:v1"
        ok(api, "tag", IMAGE, reference)
        try:
            out = ok(api, "push", reference)
            assert re.search(r"^v1: digest: sha256:[0-9a-f]{64} size: \d+$", out, re.M), out
            ok(api, "rmi", reference)
            out = ok(api, "pull", reference)
            assert out.splitlines()[-1] == reference
            assert "Status: Downloaded newer image for" in out
            assert ok(api, "image", "inspect", "-f", "{{.Id}}", reference) == api.busybox_id + "\n"
        finally:
            remote(api, "rmi", reference)


def test_login_is_checked_by_the_server_and_stored_here(clean, tmp_path):
    registry_server = pytest.importorskip("registry_server")
    if not os.path.exists(registry_server.REGISTRY):
        pytest.skip("needs Debian's docker-registry")
    api = clean
    env = {"DOCKER_CONFIG": str(tmp_path / "client-config")}
    with registry_server.Registry(users={"alice": "s3cret"}) as registry:
        bad = remote(api, "login", "-u", "alice", "--password-stdin", registry.address, input="wrong\n", env=env)
        assert bad.returncode == 1 and bad.stderr.startswith("Error response from daemon: "), bad.stderr
        good = remote(api, "login", "-u", "alice", "--password-stdin", registry.address, input="s3cret\n", env=env)
        assert (good.returncode, good.stdout) == (0, "Login Succeeded\n"), good.stderr
        stored = json.loads((tmp_path / "client-config" / "config.json").read_text())
        assert registry.address in stored["auths"]
        reference = f"{registry.address}/private:v1"
        ok(api, "tag", IMAGE, reference)
        try:
            assert "v1: digest: sha256:" in ok(api, "push", reference, env=env)
        finally:
            remote(api, "rmi", reference)
        assert ok(api, "logout", registry.address, env=env) == f"Removing login credentials for {registry.address}\n"


def test_unreachable_and_unsupported(api, tmp_path):
    socket_path = tmp_path / "nobody.sock"
    proc = subprocess.run([HAKOBUNE, "-H", f"unix://{socket_path}", "ps"], capture_output=True, text=True,
                          timeout=30, env=local_env())
    assert proc.returncode == 1
    assert proc.stderr == f"Cannot connect to the Docker daemon at unix://{socket_path}. " \
                          "Is the docker daemon running?\n"
    proc = remote(api, "compose", "ls")
    assert (proc.returncode, proc.stderr) == (125, "hakobune compose ls is not supported against a remote engine "
                                                   "yet\n")
    proc = remote(api, "system", "restore")
    assert proc.returncode == 125 and "not supported against a remote engine" in proc.stderr
    proc = subprocess.run([HAKOBUNE, "-H", "foo://x", "ps"], capture_output=True, text=True, timeout=30,
                          env=local_env())
    assert (proc.returncode, proc.stderr) == (1, "Failed to initialize: unable to resolve docker endpoint: "
                                                 "invalid bind address format: foo://x\n")


def test_a_docker_cli_context_picks_the_server(api, tmp_path):
    digest = hashlib.sha256(b"hkremote").hexdigest()
    meta = tmp_path / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "hkremote", "Metadata": {},
                                                "Endpoints": {"docker": {"Host": api.host}}}))
    env = {**local_env(), "DOCKER_CONFIG": str(tmp_path)}
    proc = subprocess.run([HAKOBUNE, "--context", "hkremote", "version"], capture_output=True, text=True,
                          timeout=30, env=env)
    assert proc.returncode == 0 and re.search(r"^ Context:\s+hkremote$", proc.stdout, re.M)
    assert "Server: hakobune" in proc.stdout
    proc = subprocess.run([HAKOBUNE, "images", "-q"], capture_output=True, text=True, timeout=30,
                          env={**env, "DOCKER_CONTEXT": "hkremote"})
    assert proc.returncode == 0 and proc.stdout == local(api, "images", "-q")


def test_a_non_root_user_is_pointed_to_the_socket(tmp_path):
    proc = subprocess.run([HAKOBUNE, "ps"], capture_output=True, text=True, timeout=30, env=local_env(),
                          user=65534, group=65534, cwd="/")
    assert proc.returncode == 125
    assert "hakobune serve" in proc.stderr and "/run/hakobune/hakobune.sock" in proc.stderr
    assert "-H unix:///run/hakobune/hakobune.sock" in proc.stderr and "DOCKER_HOST=" in proc.stderr


OPENSSL = shutil.which("openssl")


def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (docker's file names)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=hakobune-test-ca", cwd=directory)
    (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, ext in (("server", "/CN=127.0.0.1", "server.ext"), ("client", "/CN=client", "client.ext")):
        key, cert = ("server-key.pem", "server-cert.pem") if name == "server" else ("key.pem", "cert.pem")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", f"{name}.csr", "-subj", subject,
                 cwd=directory)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", cert, "-days", "1", "-extfile", ext, cwd=directory)


@pytest.mark.skipif(OPENSSL is None, reason="needs openssl to make certificates")
def test_tcp_with_mutual_tls(tmp_path):
    import socket
    import time

    certs = tmp_path / "certs"
    certs.mkdir()
    _certificates(certs)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"tcp://127.0.0.1:{port}"
    root, runroot = tmp_path / "root", tmp_path / "run"
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([HAKOBUNE, "--root", str(root), "--runroot", str(runroot), "serve", "-H", host,
                               "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                               "--tlscert", str(certs / "server-cert.pem"), "--tlskey", str(certs / "server-key.pem")],
                              stdout=log, stderr=subprocess.STDOUT, env=local_env())
    try:
        deadline = time.monotonic() + 30
        while "listening" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.05)
        flags = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"), "--tlscert", str(certs / "cert.pem"),
                 "--tlskey", str(certs / "key.pem")]
        proc = subprocess.run([HAKOBUNE, "-H", host, *flags, "version"], capture_output=True, text=True, timeout=30,
                              env=local_env())
        assert proc.returncode == 0 and "Server: hakobune" in proc.stdout, proc.stderr
        proc = subprocess.run([HAKOBUNE, "images", "-q"], capture_output=True, text=True, timeout=30,
                              env={**local_env(), "DOCKER_HOST": host, "DOCKER_TLS_VERIFY": "1",
                                   "DOCKER_CERT_PATH": str(certs)})
        assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
        proc = subprocess.run([HAKOBUNE, "images"], capture_output=True, text=True, timeout=30,
                              env={**local_env(), "DOCKER_HOST": host})  # no TLS: the server hangs up
        assert proc.returncode == 1 and proc.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        from hakobune.monitor.launcher import stop_zygotes

        stop_zygotes(str(runroot))


SCRIPT = shutil.which("script")


@pytest.mark.skipif(SCRIPT is None, reason="needs util-linux's script for a pty")
def test_run_and_exec_with_a_terminal(clean):
    api = clean
    ok(api, "run", "-d", "--name", "rtty", IMAGE, "sleep", "60")
    for command, status in ((f"run --rm -it {IMAGE} sh -c 'tty; exit 5'", 5),
                            ("exec -it rtty sh -c 'tty; exit 6'", 6)):
        proc = subprocess.run([SCRIPT, "-qec", f"{HAKOBUNE} -H {api.host} {command}", "/dev/null"],
                              capture_output=True, text=True, timeout=60, env=local_env(), stdin=subprocess.DEVNULL)
        assert proc.returncode == status, (command, proc.stdout, proc.stderr)
        assert "/dev/pts/" in proc.stdout


DOCKER = shutil.which("docker")


@pytest.mark.skipif(DOCKER is None, reason="needs the docker CLI")
def test_the_same_tables_as_the_docker_cli(clean):
    """hakobune and the real docker CLI, both clients of the same server, print the same."""
    api = clean
    ok(api, "run", "-d", "--name", "rsame", "-p", "127.0.0.1:18238:80", "--label", "x=1", IMAGE, "sleep", "60")
    ok(api, "volume", "create", "rsamevol")
    try:
        for args in (("ps", "-a"), ("ps", "-a", "--no-trunc"), ("ps", "--format", "{{.Names}} {{.Ports}} {{.Labels}}"),
                     ("images",), ("images", "--digests"), ("volume", "ls"), ("network", "ls"), ("port", "rsame"),
                     ("inspect", "-f", "{{.Name}} {{.State.Running}}", "rsame"),
                     ("top", "rsame"), ("history", IMAGE)):
            theirs = api.docker(*args)
            assert theirs.returncode == 0, (args, theirs.stderr)
            assert _timeless(ok(api, *args)) == _timeless(theirs.stdout), args
        for args in (("logs", "nosuch"), ("rm", "nosuch"), ("inspect", "nosuch")):
            mine, theirs = remote(api, *args), api.docker(*args)
            assert (mine.returncode, mine.stderr) == (theirs.returncode, theirs.stderr), args
    finally:
        remote(api, "volume", "rm", "rsamevol")
