"""compose.yaml (beside the Dockerfile) agrees with the files it uses: the nginx example's
upstream names its app services on the port the Dockerfile exposes, nginx gets the files where
the example includes them, and every replica gets one store and one cookie secret that the
store's settings accept. (Compose itself is not run here: there is no Docker engine;
tests/e2e/test_replicas.py runs the same topology without it.)"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from core.store import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
APPS = sorted(name for name, svc in SERVICES.items() if "build" in svc)
VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` with ``env``; a
    required variable that is unset or empty raises, as compose refuses to start."""

    def value(m: re.Match[str]) -> str:
        name, kind, extra = m[1], m[2], m[3]
        if env.get(name):
            return env[name]
        if kind == "?":
            raise KeyError(f"{name}: {extra}")
        return extra if kind == "-" else ""

    return VARIABLE.sub(value, text)


def test_two_replicas_built_from_the_dockerfile_are_the_nginx_upstream() -> None:
    assert len(APPS) >= 2
    exposed = re.search(r"^EXPOSE (\d+)$", DOCKERFILE.read_text(), re.M)
    assert exposed is not None
    upstream = re.search(
        r"upstream explorer \{(.*?)\}", (DEPLOY / "nginx-replicas.conf").read_text(), re.S
    )
    assert upstream is not None
    assert "ip_hash;" in upstream[1]
    servers = re.findall(r"^\s*server (\S+?)(?: [^;]*)?;", upstream[1], re.M)
    assert servers == [f"{app}:{exposed[1]}" for app in APPS]
    for app in APPS:
        build = SERVICES[app]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
        assert "ports" not in SERVICES[app]  # reached only through nginx
        assert SERVICES["nginx"]["depends_on"][app] == {"condition": "service_healthy"}


def test_nginx_gets_the_example_and_the_snippet_it_includes() -> None:
    mounts = dict(v.removesuffix(":ro").split(":") for v in SERVICES["nginx"]["volumes"])
    assert mounts["./deploy/nginx-replicas.conf"] == "/etc/nginx/conf.d/default.conf"
    included = re.search(r"include (\S+);", (DEPLOY / "nginx-replicas.conf").read_text())
    assert included is not None
    assert mounts["./deploy/explorer-proxy.conf"] == f"/etc/nginx/{included[1]}"
    for source in mounts:
        assert (ROOT / source).is_file()


def test_every_replica_has_the_same_store_and_cookie_secret() -> None:
    envs = [SERVICES[app]["environment"] for app in APPS]
    assert all(env == envs[0] for env in envs)
    assert envs[0]["STREAMLIT_SERVER_COOKIE_SECRET"].startswith("${EXPLORER_COOKIE_SECRET:?")
    for app in APPS:
        assert SERVICES[app]["depends_on"]["db"] == {"condition": "service_healthy"}


def test_the_store_url_names_the_database_service_and_the_settings_accept_the_defaults() -> None:
    secrets = {"POSTGRES_PASSWORD": "pw-_0", "EXPLORER_COOKIE_SECRET": "c0ffee"}
    env = {k: interpolate(v, secrets) for k, v in SERVICES["app1"]["environment"].items()}
    db = {k: interpolate(v, secrets) for k, v in SERVICES["db"]["environment"].items()}
    settings = Settings.from_env(env)
    url = urlsplit(settings.url)
    assert url.scheme == "postgresql"
    assert SERVICES[url.hostname or ""]["image"].startswith("postgres:")
    assert url.port == 5432
    assert (url.username, url.password) == (db["POSTGRES_USER"], db["POSTGRES_PASSWORD"])
    assert url.path == "/" + db["POSTGRES_DB"]
    assert settings.quota_bytes == 1000 * 1_000_000  # the store's own default
    assert settings.retention_days is None  # kept until deleted
    with_limits = {
        **secrets,
        "EXPLORER_STORE_QUOTA_MB": "50",
        "EXPLORER_STORE_RETENTION_DAYS": "30",
    }
    limited = Settings.from_env(
        {k: interpolate(v, with_limits) for k, v in SERVICES["app1"]["environment"].items()}
    )
    assert (limited.quota_bytes, limited.retention_days) == (50_000_000, 30.0)


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "EXPLORER_COOKIE_SECRET"])
def test_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    given = {"POSTGRES_PASSWORD": "pw", "EXPLORER_COOKIE_SECRET": "c0ffee", missing: ""}
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    with pytest.raises(KeyError, match=missing):
        interpolate(text, given)
