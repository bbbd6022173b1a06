"""docker/ holds what a production deployment needs (no Docker daemon here: files only).

Every service restarts and reports its health, runs as a non-root user, takes every secret
from the environment without a default, and gets its image version from docker/versions.env,
consistent with requirements/ and pyproject.toml; nginx ends TLS and forwards the client's
address, scheme and host. When nginx and openssl are installed, nginx checks the syntax.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD")
# Images whose entrypoint starts as root only to hand the process to the image's own user.
DROPS_ROOT_ITSELF = {"postgres": "the postgres entrypoint runs the server as `postgres`"}
FORWARDED = ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-IP")


def _versions() -> dict[str, str]:
    lines = (DOCKER / "versions.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


def _dockerfiles() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(DOCKER.glob("Dockerfile*"))}


def _server_blocks(conf: str) -> list[str]:
    """The text of each top-level ``server { ... }`` block (braces balanced)."""
    blocks = []
    for match in re.finditer(r"^server \{", conf, re.MULTILINE):
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(conf[i], 0)
            i += 1
            if depth == 0:
                break
        blocks.append(conf[match.start() : i])
    return blocks


# ----------------------------------------------------------------------------- versions
def test_images_are_pinned_releases_from_versions_env():
    versions = _versions()
    images = {k: v for k, v in versions.items() if k.endswith("_IMAGE")}
    assert {"PYTHON_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE", "NGINX_IMAGE"} <= set(images)
    for key, image in images.items():
        name, _, tag = image.rpartition(":")
        assert name and tag != "latest", f"{key}={image}: pin a release"
        # A release (PostgreSQL numbers its patch releases major.minor), not a major line.
        assert re.match(r"\d+\.\d+", tag), f"{key}={image}: pin a release, not a major line"
    compose = _compose()
    for name, service in compose["services"].items():
        if "image" in service and "build" not in service:
            assert re.fullmatch(r"\$\{[A-Z_]+_IMAGE(:\?[^}]*)?\}", service["image"]), name
            key = re.match(r"\$\{([A-Z_]+)", service["image"]).group(1)
            assert key in images, f"{name}: {key} is not in versions.env"
    for name, text in _dockerfiles().items():
        for line in re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE):
            assert line.startswith("${") and line.endswith("_IMAGE}"), f"{name}: FROM {line}"
            arg = line[2:-1]
            # No default in the Dockerfile: the version comes from versions.env only.
            assert re.search(rf"^ARG {arg}\s*$", text, re.MULTILINE), f"{name}: ARG {arg}="


def test_python_image_matches_requires_python():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lower = re.search(r">=\s*(\d+\.\d+)", pyproject["project"]["requires-python"]).group(1)
    tag = _versions()["PYTHON_IMAGE"].split(":", 1)[1]
    assert tag.startswith(lower + "."), f"python image {tag} vs requires-python {lower}"


def test_python_packages_come_from_the_frozen_requirements():
    files = _dockerfiles()
    # The app image installs exactly like `make install`.
    assert "bash scripts/install.sh" in files["Dockerfile"]
    # The generator image installs under constraints.txt, torch's version read from it.
    generator = files["Dockerfile.generator"]
    assert "-c requirements/constraints.txt" in generator
    assert "sed -n 's/^torch==//p' requirements/constraints.txt" in generator
    for name, text in files.items():
        # No version of our Python dependencies is written in a Dockerfile.
        pins = re.findall(r"[\"' ]([A-Za-z][\w.-]*)(==|>=|<)\d", text)
        assert not pins, f"{name} pins {pins}: requirements/constraints.txt is the one place"


# ----------------------------------------------------------------------------- runtime
def test_every_service_restarts_and_reports_its_health():
    for name, service in _compose()["services"].items():
        assert service.get("restart") in ("always", "unless-stopped"), name
        health = service.get("healthcheck") or {}
        assert health.get("test") and not health.get("disable"), f"{name}: no healthcheck"
    for name, text in _dockerfiles().items():
        assert "HEALTHCHECK" in text, name


def test_services_start_after_their_dependencies_are_healthy():
    services = _compose()["services"]
    for name in ("rasa", "web", "console", "nginx"):
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict), name
        assert any(d.get("condition") == "service_healthy" for d in depends.values()), name


def test_nothing_runs_as_root():
    for name, service in _compose()["services"].items():
        user = str(service.get("user", ""))
        if name in DROPS_ROOT_ITSELF:
            continue
        assert user and user.split(":")[0] not in ("0", "root"), f"{name} runs as root"
    for name, text in _dockerfiles().items():
        users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
        assert users and users[-1].split(":")[0] not in ("0", "root"), name


def test_only_nginx_publishes_ports():
    for name, service in _compose()["services"].items():
        if name != "nginx":
            assert "ports" not in service, f"{name} publishes a port"


# ----------------------------------------------------------------------------- secrets
def test_secrets_come_from_the_environment_without_defaults():
    text = (DOCKER / "compose.yml").read_text()
    secret_var = r"\w*(?:" + "|".join(SECRET_WORDS) + r")\w*"
    # ${NAME:-default} / ${NAME-default} for a secret is a usable default: never.
    assert not re.findall(rf"\$\{{({secret_var})(:?-)", text)
    required = set(re.findall(rf"\$\{{({secret_var}):\?", text))
    assert {"POSTGRES_PASSWORD", "SHOPBOT_SESSION_SECRET", "SHOPBOT_RASA_TOKEN"} <= required
    for used in set(re.findall(rf"\$\{{({secret_var})\}}", text)):
        assert used in required, f"${{{used}}} is used but never required"

    def check(env: dict, where: str) -> None:
        for key, value in env.items():
            if any(word in key for word in SECRET_WORDS) and not key.endswith("_URL"):
                assert isinstance(value, str) and value.startswith("${"), f"{where}: {key}"

    for name, service in _compose()["services"].items():
        env = service.get("environment") or {}
        check(env if isinstance(env, dict) else {}, name)
    for name, text in _dockerfiles().items():
        for key in re.findall(r"^(?:ENV|ARG)\s+(\w+)", text, re.MULTILINE):
            assert not any(word in key for word in SECRET_WORDS), f"{name}: {key}"


def test_secrets_and_local_state_stay_out_of_the_build_context():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".venv", "data", ".git", "**/secrets.json", "docker/certs", "*.key"):
        assert entry in ignored, entry


# ----------------------------------------------------------------------------- nginx
def test_nginx_ends_tls_and_redirects_plain_http():
    conf = (DOCKER / "nginx.conf").read_text()
    plain, tls = _server_blocks(conf)
    assert re.search(r"listen 8080;", plain) and "proxy_pass" not in plain
    assert "return 301 https://$host$request_uri;" in plain
    assert re.search(r"listen 8443 ssl", tls)
    assert "ssl_certificate /etc/nginx/certs/tls.crt;" in tls
    assert "ssl_certificate_key /etc/nginx/certs/tls.key;" in tls
    protocols = re.search(r"ssl_protocols ([^;]+);", tls).group(1).split()
    assert set(protocols) <= {"TLSv1.2", "TLSv1.3"}
    assert "Strict-Transport-Security" in tls
    nginx = _compose()["services"]["nginx"]
    assert any(
        v.startswith("${TLS_CERT_DIR:?") and v.endswith(":/etc/nginx/certs:ro")
        for v in nginx["volumes"]
    )
    assert sorted(p.split(":")[-1] for p in nginx["ports"]) == ["8080", "8443"]


def test_nginx_forwards_client_address_scheme_and_host_everywhere():
    conf = (DOCKER / "nginx.conf").read_text()
    tls = _server_blocks(conf)[1]
    server_level = tls.split("location", 1)[0]
    for header in FORWARDED:
        assert f"proxy_set_header {header} " in server_level, header
    # A location with its own proxy_set_header loses the inherited ones: it must repeat them.
    for location in re.findall(r"location [^{]+\{([^}]*)\}", tls):
        if "proxy_set_header" in location:
            for header in FORWARDED:
                assert f"proxy_set_header {header} " in location, (header, location[:60])
    assert "X-Forwarded-Proto $scheme" in tls
    # The apps believe these headers only from nginx's network.
    env = _compose()["x-app"]["environment"]
    assert env["SHOPBOT_TRUSTED_PROXIES"]


def test_nginx_accepts_the_configuration(tmp_path):
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    openssl = shutil.which("openssl")
    if not nginx or not openssl:
        pytest.skip("nginx and openssl are needed for the syntax check")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
         "-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    conf = (DOCKER / "nginx.conf").read_text()
    # Service names resolve only inside compose; the certificate folder is mounted there.
    conf = re.sub(r"server (rasa|web|console):", "server 127.0.0.1:", conf)
    conf = conf.replace("/etc/nginx/certs/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(conf)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    temp = "".join(f"  {s}_temp_path {tmp_path}/tmp/{s.split('_')[0]};\n" for s in (
        "client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    temp = temp.replace("/tmp/client;", "/tmp/body;")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log warn;\n"
        f"events {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n{temp}"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
