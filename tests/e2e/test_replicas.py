"""Several servers sharing saved data, for real: deploy/nginx-replicas.conf (the nginx of
compose.yaml) with Debian's nginx in front of two ``streamlit run`` replicas on free
ports, both with the same ``EXPLORER_STORE`` (a throwaway PostgreSQL cluster) and cookie secret.

A dataset uploaded and saved through nginx opens from its link on either replica directly,
with the pooled ratio of ``python -m core analyze`` on the same store; with the replica that
served the save stopped, the link still opens through nginx (passive failover to the other).
Skipped without PostgreSQL (unless REQUIRE_POSTGRES=1), nginx (REQUIRE_NGINX=1) or Chromium.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import ROOT, free_port, serve, stop_app
from tests.e2e.test_nginx import main_context, run_nginx
from tests.e2e.test_save_share import (
    analyze_dfs,
    bcg_at_one_year,
    expect_saved_overview,
    token_of,
    upload_and_save,
)
from tests.unit.store_support import Cluster

REPLICAS_CONF = ROOT / "deploy" / "nginx-replicas.conf"
SERVICES = ("app1", "app2")  # the replicas' compose service names in REPLICAS_CONF
#: a line of the example's access log: "METHOD URI" status bytes time "upstream(s)"
LOG_LINE = re.compile(r'"(\S+) (\S+)" (\d{3}) \d+ \S+ "([^"]*)"$')


def replicas_config(example: str, app_ports: list[int], port: int, folder: Path) -> str:
    """deploy/nginx-replicas.conf made runnable here: the services' addresses pointed at the
    local replicas, nginx on ``port`` (see :func:`~tests.e2e.test_nginx.main_context`)."""
    body = example
    for service, app_port in zip(SERVICES, app_ports, strict=True):
        assert f"server {service}:8501 " in body, f"{service} moved; update this test"
        body = body.replace(f"server {service}:8501 ", f"server 127.0.0.1:{app_port} ")
    assert "listen 80;" in body
    body = body.replace("listen 80;", f"listen 127.0.0.1:{port};")
    return main_context(body, folder)


@dataclass(frozen=True)
class Topology:
    """nginx's base URL, the replicas' base URLs and processes, nginx's access log."""

    nginx: str
    replicas: dict[str, subprocess.Popen]  # base URL -> its process
    access_log: Path

    def upstreams(self, since: int = 0) -> list[tuple[str, tuple[str, ...]]]:
        """(URI, base URLs of the replicas tried, the one that answered last) of each logged
        request from line ``since`` on."""
        lines = self.access_log.read_text().splitlines()[since:] if self.access_log.exists() else []
        found = [LOG_LINE.search(line) for line in lines]
        return [
            (m[2], tuple("http://" + addr for addr in m[4].split(", ")))
            for m in found
            if m and m[4] not in ("", "-")
        ]

    def lines(self) -> int:
        return len(self.access_log.read_text().splitlines()) if self.access_log.exists() else 0


@pytest.fixture(scope="module")
def topology(
    browser_type_launch_args: dict,
    pg_cluster: Cluster,
    artifacts: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Topology]:
    """One PostgreSQL database, two replicas using it, nginx in front (all stopped after)."""
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(pytest.MonkeyPatch.context())
        env.setenv("EXPLORER_STORE", pg_cluster.new_database())  # the apps' and the CLI's
        # one cookie secret for every replica, as in compose.yaml (Streamlit takes it only
        # from the environment or a config file, not from the command line)
        env.setenv("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
        replicas: dict[str, subprocess.Popen] = {}
        for service in SERVICES:
            base, proc = stack.enter_context(serve(artifacts / f"streamlit-replica-{service}.log"))
            replicas[base] = proc
        folder = tmp_path_factory.mktemp("nginx-replicas")
        port = free_port()
        ports = [int(base.rsplit(":", 1)[1]) for base in replicas]
        conf = replicas_config(REPLICAS_CONF.read_text(encoding="utf-8"), ports, port, folder)
        nginx = stack.enter_context(run_nginx(conf, port, folder))
        yield Topology(nginx, replicas, folder / "access.log")


@dataclass(frozen=True)
class SavedLink:
    link: str
    token: str
    pooled: dict
    served_by: str  # base URL of the replica that served the saving session


@pytest.fixture(scope="module")
def saved(
    topology: Topology, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> SavedLink:
    """The bcg upload saved through nginx; every request of that session reached one replica."""
    files = bcg_at_one_year(tmp_path_factory.mktemp("replicas") / "bcg")
    context = browser.new_context()
    link = upload_and_save(context.new_page(), topology.nginx, files)
    context.close()
    served = topology.upstreams()
    assert any("/_stcore/upload_file/" in uri for uri, _ in served), served
    assert len({tried for _, tried in served}) == 1, served  # sticky: one replica, no retries
    token = token_of(link)
    return SavedLink(link, token, analyze_dfs(token), served[0][1][0])


@pytest.mark.timeout(300)
@pytest.mark.parametrize("replica", [0, 1], ids=SERVICES)
def test_the_link_opens_on_each_replica_directly(
    replica: int, topology: Topology, saved: SavedLink, browser: Browser, artifacts: Path
) -> None:
    base = list(topology.replicas)[replica]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/?{saved.link.split('?', 1)[1]}")
    expect_saved_overview(page, saved.pooled)
    page.screenshot(path=artifacts / f"replicas-{SERVICES[replica]}-direct.png", full_page=True)
    context.close()


@pytest.mark.timeout(300)
def test_with_the_saving_replica_stopped_the_link_opens_through_nginx(
    topology: Topology, saved: SavedLink, browser: Browser, artifacts: Path
) -> None:
    stop_app(topology.replicas[saved.served_by])
    (other,) = set(topology.replicas) - {saved.served_by}
    since = topology.lines()
    context = browser.new_context()
    page = context.new_page()
    page.goto(saved.link.replace("/studies?", "/?"))
    expect_saved_overview(page, saved.pooled)
    page.screenshot(path=artifacts / "replicas-failover.png", full_page=True)
    context.close()  # nginx logs the WebSocket when it closes
    deadline = time.monotonic() + 15
    while not any(uri == "/_stcore/stream" for uri, _ in topology.upstreams(since)):
        assert time.monotonic() < deadline, topology.upstreams(since)
        time.sleep(0.2)
    answered = topology.upstreams(since)
    assert {tried[-1] for _, tried in answered} == {other}, answered
    # the client's replica (ip_hash) was tried first, then nginx failed over to the other
    assert answered[0][1] == (saved.served_by, other), answered
