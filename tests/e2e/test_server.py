"""The app as the container runs it: the Dockerfile's files, ENV and CMD, on a free local port.

Docker itself is not needed: the test copies what the Dockerfile COPYs into a fresh folder,
starts its CMD there (port and address swapped for a free localhost port) with an empty home
and no STREAMLIT_* variables, and checks the health endpoint, the HEALTHCHECK command, a page in
Chromium and the production settings (XSRF on, error details hidden) under that same command.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.vocab import UPLOAD_TOO_LARGE
from tests.e2e.conftest import dataset_uploader, free_port, stop_app, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
NGINX = ROOT / "deploy" / "nginx.conf"
NGINX_REPLICAS = ROOT / "deploy" / "nginx-replicas.conf"  # compose.yaml's
NGINX_PROXY = ROOT / "deploy" / "explorer-proxy.conf"  # included by both
PORT_ARG, ADDRESS_ARG = "--server.port=8501", "--server.address=0.0.0.0"
HEADING = "Perioperative radiotherapy for HCC: the pooled evidence"
RUN_TIMEOUT = 60_000  # ms


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) for each Dockerfile instruction, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def only(keyword: str) -> str:
    """The arguments of the one ``keyword`` instruction."""
    found = [args for kw, args in instructions() if kw == keyword]
    assert len(found) == 1, f"expected one {keyword} in the Dockerfile, found {len(found)}"
    return found[0]


def container_env() -> dict[str, str]:
    """The Dockerfile's ENV settings (KEY=VALUE form)."""
    env: dict[str, str] = {}
    for kw, args in instructions():
        if kw == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(args))
    return env


def container_cmd(port: int) -> list[str]:
    """The Dockerfile's CMD on ``port`` at 127.0.0.1, run by this interpreter."""
    cmd = json.loads(only("CMD"))
    assert cmd[:3] == ["streamlit", "run", "serve.py"]
    assert PORT_ARG in cmd and ADDRESS_ARG in cmd
    swap = {PORT_ARG: f"--server.port={port}", ADDRESS_ARG: "--server.address=127.0.0.1"}
    return [sys.executable, "-m", *[swap.get(arg, arg) for arg in cmd]]


def healthcheck_cmd(port: int) -> list[str]:
    """The HEALTHCHECK's command, pointed at ``port``, run by this interpreter."""
    check = json.loads(only("HEALTHCHECK").split(" CMD ", 1)[1])
    assert check[0] == "python"
    return [sys.executable, *[a.replace("localhost:8501", f"localhost:{port}") for a in check[1:]]]


def copy_image_files(dest: Path) -> None:
    """What the Dockerfile COPYs into its WORKDIR (without bytecode, as .dockerignore says)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "secrets.toml")
    for kw, args in instructions():
        if kw != "COPY" or args.startswith("requirements"):
            continue
        src, target = args.split()
        if (ROOT / src).is_dir():
            shutil.copytree(ROOT / src, dest / target, ignore=skip)
        else:
            shutil.copy2(ROOT / src, dest / target)


def clean_env(home: Path) -> dict[str, str]:
    """This machine's environment as the container sees it: an empty home, the Dockerfile's ENV,
    no Streamlit settings from the environment and no test-only switches."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STREAMLIT_") and k != "EXPLORER_STRICT"
    }
    return {**env, **container_env(), "HOME": str(home)}


@dataclass(frozen=True)
class Server:
    """The running copy of the container's app: its address, folder and environment."""

    url: str
    port: int
    workdir: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Server]:
    """The app started exactly like the container's CMD, from a copy of the image's files."""
    base = tmp_path_factory.mktemp("image")
    workdir, home = base / "app", base / "home"
    workdir.mkdir()
    home.mkdir()
    copy_image_files(workdir)
    port = free_port()
    env = clean_env(home)
    log = base / "streamlit.log"  # read by the warm-up test; copied to the artifacts at the end
    with log.open("w") as out:
        proc = subprocess.Popen(
            container_cmd(port), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield Server(url, port, workdir, env)
    finally:
        stop_app(proc)
        shutil.copy2(log, artifacts / "streamlit-container.log")


def effective_config(srv: Server) -> dict[str, dict[str, object]]:
    """``streamlit config show`` with the CMD's flags, in the container's folder and env:
    {section: {option: value}} (defaults are printed commented out; they count too)."""
    flags = [arg for arg in container_cmd(srv.port) if arg.startswith("--")]
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show", *flags],
        cwd=srv.workdir,
        env=srv.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config: dict[str, dict[str, object]] = {}
    section: dict[str, object] = {}
    for line in shown.splitlines():
        if m := re.fullmatch(r"\[([\w.]+)\]", line):
            section = config.setdefault(m[1], {})
        elif m := re.fullmatch(r"(?:# )?([A-Za-z]\w*) = (.+)", line):
            with contextlib.suppress(tomllib.TOMLDecodeError):
                section.setdefault(m[1], tomllib.loads(f"v = {m[2]}")["v"])
    return config


def test_dockerfile_slim_non_root_and_runtime_only():
    assert only("FROM") == "python:3.11-slim"
    user = only("USER").split(":")[0]
    assert user not in {"root", "0"}
    assert only("EXPOSE") == "8501"
    runs = " ".join(args for kw, args in instructions() if kw == "RUN")
    assert "pip install -r /tmp/requirements.txt" in runs and "requirements-dev" not in runs
    assert "apt-get install -y --no-install-recommends fonts-dejavu-core" in runs
    assert not any(k.startswith("STREAMLIT_") for k in container_env())  # config.toml decides
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    copied = [args.split()[0].rstrip("/") for kw, args in instructions() if kw == "COPY"]
    assert ".streamlit" in copied and not set(copied) & set(ignored)


def test_health_endpoint_and_the_container_healthcheck(server: Server):
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as r:
        assert (r.status, r.read()) == (200, b"ok")
    check = subprocess.run(healthcheck_cmd(server.port), capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr.decode(errors="replace")
    down = subprocess.run(healthcheck_cmd(free_port()), capture_output=True, timeout=30)
    assert down.returncode != 0  # nothing listens there: unhealthy


def test_warm_up_runs_at_start_up_and_the_app_serves(server: Server, page: Page):
    """serve.py's start-up hook warms the caches (ui/warmup.py) beside the server: the health
    endpoint answered before it finished (the fixture), and it finishes, then the default view
    renders from the warmed caches. No time is asserted."""
    log = server.workdir.parent / "streamlit.log"
    pattern = re.compile(r"explorer\.warmup: warm-up done in [\d.]+ s: the default view is cached")
    deadline = time.monotonic() + RUN_TIMEOUT / 1000 * 3
    while not pattern.search(log.read_text(errors="replace")):
        assert "warm-up failed" not in log.read_text(errors="replace")
        assert time.monotonic() < deadline, "no 'warm-up done' line in the server's log"
        time.sleep(0.5)
    page.goto(server.url + "/")
    expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as r:
        assert (r.status, r.read()) == (200, b"ok")


def test_page_loads_in_chromium(server: Server, page: Page, artifacts: Path):
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name=HEADING)).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.title() == "Perioperative RT for HCC: evidence explorer"
    # XSRF protection on: the server hands the page its token cookie.
    assert "_streamlit_xsrf" in {c["name"] for c in page.context.cookies()}
    page.screenshot(path=artifacts / "container-overview.png")


def test_upload_without_xsrf_token_is_refused(server: Server):
    req = urllib.request.Request(
        f"{server.url}/_stcore/upload_file/no-session/no-file", data=b"x", method="PUT"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=5)
    assert refused.value.code == 403  # without XSRF protection it would be 400 (no session)


def _put_oversized(server: Server, path: str, headers: dict[str, str], chunked: bool) -> tuple:
    """PUT an upload over the limit to ``path`` with the page's cookie and XSRF token: either
    declared (a Content-Length over the limit, no body sent) or streamed (chunked, no length: a
    multipart part that grows past the limit). Returns (status, body)."""
    limit = effective_config(server)["server"]["maxUploadSize"] << 20
    boundary = "explorerboundary"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.putrequest("PUT", path)
    conn.putheader("Cookie", headers["cookie"])
    conn.putheader("X-Xsrftoken", headers["x-xsrftoken"])
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    if not chunked:
        conn.putheader("Content-Length", str(limit + (2 << 20)))
        conn.endheaders()
    else:
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="studies.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        with contextlib.suppress(OSError):  # the server may stop reading once over the limit
            for chunk in [head, *[b"x" * (1 << 20)] * ((limit >> 20) + 3)]:
                conn.send(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
    answer = conn.getresponse()
    try:
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_an_upload_over_the_limit_gets_the_apps_own_answer(server: Server, page: Page):
    """The browser refuses a file over ``server.maxUploadSize`` before sending it; a client that
    sends one anyway, with a session and its XSRF token (taken from the page's own upload
    request), gets HTTP 413 with the app's sentence naming the limit (serve.too_large), not
    the framework's bare "File too large", whether the size is declared or only streamed; the
    server keeps serving."""
    seen: dict[str, object] = {}

    def capture(route) -> None:  # the page's upload: keep its address and headers, send nothing
        seen["url"], seen["headers"] = route.request.url, route.request.all_headers()
        route.abort()

    page.route("**/_stcore/upload_file/**", capture)
    page.goto(server.url + "/studies")
    expect(dataset_uploader(page)).to_have_count(1, timeout=RUN_TIMEOUT)
    dataset_uploader(page).set_input_files(
        files=[{"name": "studies.csv", "mimeType": "text/csv", "buffer": b"study_id\nA\n"}]
    )
    deadline = time.monotonic() + RUN_TIMEOUT / 1000
    while "url" not in seen:
        assert time.monotonic() < deadline, "the page sent no upload request"
        page.wait_for_timeout(100)
    path = urllib.parse.urlsplit(str(seen["url"])).path
    headers = seen["headers"]
    assert isinstance(headers, dict)
    limit_mb = effective_config(server)["server"]["maxUploadSize"]
    expected = UPLOAD_TOO_LARGE.format(limit=limit_mb)
    assert f"upload limit of {limit_mb} MB" in expected
    for chunked in (False, True):
        assert _put_oversized(server, path, headers, chunked) == (413, expected), chunked
    with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=5) as r:
        assert (r.status, r.read()) == (200, b"ok")


def test_production_settings_under_the_container_command(server: Server):
    config = effective_config(server)
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["server"]["headless"] is True
    assert config["server"]["port"] == server.port
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["maxUploadSize"] == 25
    # a hidden option ("config show" leaves it out): ask Streamlit in the container's folder
    gc_after_run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import streamlit.config as c; print(c.get_option('runner.postScriptGC'))",
        ],
        cwd=server.workdir,
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert gc_after_run == "False"  # a full GC after every run cost a third of the server


@pytest.mark.parametrize("example", [NGINX, NGINX_REPLICAS], ids=lambda p: p.name)
def test_nginx_example_fits_the_server_settings(server: Server, example: Path):
    top = example.read_text(encoding="utf-8")
    assert "include snippets/explorer-proxy.conf;" in top
    conf = top + NGINX_PROXY.read_text(encoding="utf-8")
    upload_mb = effective_config(server)["server"]["maxUploadSize"]
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", conf)[1])
    assert upload_mb <= body_mb <= upload_mb + 1  # room for multipart framing, no more
    assert re.search(r"upstream explorer \{\s*(#[^\n]*\n\s*)*ip_hash;", conf)
    stream = conf.split("location /_stcore/stream {", 1)[1].split("}", 1)[0]
    assert "proxy_read_timeout" in stream
    for header in ("proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;"):
        assert header in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "location = /_stcore/health" in conf
