"""The README's deployment, for real: deploy/nginx.conf (TLS lines taken out, the replica
addresses pointed at a running app; with the deploy/explorer-proxy.conf it includes) in front
of the app, with Debian's nginx.

Checks what the README promises about links: a link of up to 12,000 characters opens the view
through nginx and on the app's own server, also when the request arrives in network-sized
pieces; a longer one gets nginx's readable "link too long" page (HTTP 414), never a reset
connection. Without /usr/sbin/nginx the tests are skipped, unless REQUIRE_NGINX=1 (CI).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, free_port
from tests.e2e.test_server import HEADING

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
PROXY_CONF = ROOT / "deploy" / "explorer-proxy.conf"  # included by both examples
LINK_LIMIT = 12_000  # characters after "?", as the README and deploy/nginx.conf state
SEGMENT = 1460  # bytes: one TCP segment on an Ethernet network


def runnable_config(example: str, app_port: int, port: int, folder: Path) -> str:
    """deploy/nginx.conf made runnable here: plain HTTP on ``port``, the one app on
    ``app_port`` as its only replica, the port-80 redirect left out (see :func:`main_context`)."""
    body = re.sub(r"server 10\.0\.0\.11:8501[^;]*;", f"server 127.0.0.1:{app_port};", example)
    body = re.sub(r"\n\s*server 10\.0\.0\.\d+:8501[^;]*;", "", body)
    redirect = re.search(r"server \{\s*listen 80;.*?\n\}\n", body, flags=re.S)
    assert redirect, "the example's port-80 redirect block moved; update this test"
    body = body.replace(redirect[0], "")
    body = body.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    body = re.sub(r"\n\s*ssl_certificate(_key)? [^;]*;", "", body)
    return main_context(body, folder)


def main_context(body: str, folder: Path) -> str:
    """An example's http-context text wrapped in a main context whose files (pid, logs,
    temporary files) live in ``folder``; its access logs go to ``folder`` too, and the shared
    deploy/explorer-proxy.conf is put where its ``include snippets/...`` finds it."""
    (folder / "snippets").mkdir(exist_ok=True)
    shutil.copy(PROXY_CONF, folder / "snippets" / PROXY_CONF.name)
    body = body.replace("/var/log/nginx/", f"{folder}/")
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    temp += f" uwsgi_temp_path {folder / 'uwsgi'}; scgi_temp_path {folder / 'scgi'};"
    return (
        f"worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{temp}\n{body}\n}}\n"
    )


@contextlib.contextmanager
def run_nginx(conf_text: str, port: int, folder: Path) -> Iterator[str]:
    """Debian's nginx with ``conf_text`` (a main context, see :func:`main_context`) listening
    on ``port``: its base URL; stopped afterwards. Skipped without nginx unless
    REQUIRE_NGINX=1."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but nginx is missing (apt-get install nginx)")
        pytest.skip("nginx not found: install Debian's nginx to test the deployment example")
    conf = folder / "nginx.conf"
    conf.write_text(conf_text)
    check = subprocess.run([binary, "-t", "-p", str(folder), "-c", str(conf)], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def app(app_server: str) -> str:
    """The shared app (tests/e2e/conftest.py), behind nginx here."""
    return app_server


@pytest.fixture(scope="module")
def nginx(app: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the example configuration in front of ``app``: its base URL."""
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    app_port = int(app.rsplit(":", 1)[1])
    conf = runnable_config(NGINX_CONF.read_text(encoding="utf-8"), app_port, port, folder)
    with run_nginx(conf, port, folder) as base:
        yield base


def long_link(chars: int) -> str:
    """A query string of exactly ``chars`` characters: a long list of excluded ids."""
    ids, used = [], 0
    while used < chars:
        ids.append(f"exclude=Study{len(ids):06d}")
        used += len(ids[-1]) + 1
    query = "&".join(ids)
    return (query + "&exclude=" + "x" * chars)[:chars]


def get_in_segments(base: str, query: str) -> tuple[int, bytes]:
    """GET ``/?query`` sent one TCP segment at a time, as over a network; the status and
    body of the whole answer (a reset connection raises ConnectionResetError)."""
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"GET /?{query} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\nAccept: text/html\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), SEGMENT):
            sock.sendall(request[start : start + SEGMENT])
            time.sleep(0.001)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("through", ["nginx", "app"])
def test_a_link_of_the_stated_length_opens(through: str, nginx: str, app: str):
    status, body = get_in_segments(nginx if through == "nginx" else app, long_link(LINK_LIMIT))
    assert status == 200
    assert b'<div id="root">' in body  # the app's page, not an error


@pytest.mark.parametrize("chars", [LINK_LIMIT + 1_000, 200_000, 2_000_000])
def test_a_longer_link_gets_a_readable_page_not_a_reset(chars: int, nginx: str):
    status, body = get_in_segments(nginx, long_link(chars))
    assert status == 414
    text = body.decode()
    assert "This link is too long to open" in text
    assert "12,000 characters" in text
    assert '<a href="/">Open the explorer</a>' in text


def test_the_app_works_through_nginx(nginx: str, page: Page):
    page.goto(f"{nginx}/?exclude=Yu2014")
    expect(page.get_by_text(HEADING)).to_be_visible(timeout=60_000)
    expect(page.locator(".vega-embed").first).to_be_visible(timeout=60_000)
    assert "exclude=Yu2014" in page.url
