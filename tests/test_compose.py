"""The production layout: docker-compose.yaml, Dockerfile and docker/.env.example.

There is no Docker engine here, so the file is checked with ``docker-compose config`` (which interpolates
and validates it) and by reading the YAML; the image itself is not built.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support.paths import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "docker" / ".env.example"
REQUIREMENTS = ROOT / "requirements.txt"

#: Variables that must come from the environment (no default in the compose file).
SECRETS = {
    "AIRFLOW_DB_PASSWORD": "airflowdbpw0123",
    "AIRFLOW_FERNET_KEY": "ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU=",
    "AIRFLOW_JWT_SECRET": "jwtsecret0123",
    "AIRFLOW_API_SECRET_KEY": "apisecret0123",
    "AIRFLOW_ADMIN_PASSWORD": "adminpw0123",
    "CCHC_WAREHOUSE_PASSWORD": "warehousepw0123",
    "REDIS_PASSWORD": "redispw0123",
}

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
ALL_SERVICES = {
    "postgres",
    "redis",
    *AIRFLOW_SERVICES,
    "airflow-init",
    "warehouse",
    "portal-simulator",
    "mailpit",
}
CONNECTIONS = ("AIRFLOW_CONN_CCHC_PORTAL", "AIRFLOW_CONN_CCHC_WAREHOUSE", "AIRFLOW_CONN_SMTP_DEFAULT")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yaml as written (YAML merge keys resolved, ``${...}`` left as text)."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Enough of compose's interpolation to read the file without the binary ($$ is a literal $)."""

    def repl(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name}: {arg}")
        return value or ""

    return _INTERPOLATION.sub(repl, text.replace("$$", "\0")).replace("\0", "$")


def _env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _walk_strings(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk_strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_strings(value, (*path, str(index)))
    elif isinstance(node, str):
        yield path, node


def _is_pure_interpolation(value: str) -> bool:
    match = _INTERPOLATION.fullmatch(value.strip())
    return bool(match) and match["op"] in (":?", "?")


def _compose_cmd() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "the docker-compose binary is not installed (apt package docker-compose; `make` installs it)"
        )
    return binary


def _run_compose(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment and an empty --env-file: neither the caller's shell nor a developer's `.env`
    # can supply the values under test.
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("", encoding="utf-8")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    return subprocess.run(
        [_compose_cmd(), "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------------------------------
# docker-compose config


@pytest.mark.slow  # runs docker-compose
def test_compose_config_is_valid(tmp_path):
    result = _run_compose("config", "-q", env=SECRETS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # runs docker-compose
def test_compose_config_resolves_connections(tmp_path):
    result = _run_compose("config", env=SECRETS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    env = _env_of(resolved["services"]["airflow-worker"])
    warehouse = json.loads(env["AIRFLOW_CONN_CCHC_WAREHOUSE"])
    password = SECRETS["CCHC_WAREHOUSE_PASSWORD"]
    assert warehouse["password"] == password
    assert warehouse["extra"]["url"] == f"postgresql+psycopg://cchc:{password}@warehouse:5432/cchc"
    assert json.loads(env["AIRFLOW_CONN_CCHC_PORTAL"])["extra"]["url"] == "http://portal-simulator:8765"
    assert json.loads(env["AIRFLOW_CONN_SMTP_DEFAULT"])["host"] == "mailpit"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == SECRETS["AIRFLOW_JWT_SECRET"]


@pytest.mark.slow  # runs docker-compose
def test_compose_publishes_every_port_on_loopback_only(tmp_path):
    """The API server too (it was on every interface): each published port is bound to 127.0.0.1."""
    result = _run_compose("config", env=SECRETS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    published = {
        name: service["ports"]
        for name, service in yaml.safe_load(result.stdout)["services"].items()
        if service.get("ports")
    }
    assert {"airflow-apiserver", "mailpit", "portal-simulator", "warehouse"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]
            assert host_ip == "127.0.0.1", (name, port)
    # Opening it to the network is a deliberate setting, not the default.
    result = _run_compose("config", env={**SECRETS, "AIRFLOW_API_BIND": "0.0.0.0"}, tmp_path=tmp_path)
    api = yaml.safe_load(result.stdout)["services"]["airflow-apiserver"]["ports"][0]
    assert (api.get("host_ip") if isinstance(api, dict) else str(api).rsplit(":", 2)[0]) == "0.0.0.0"


@pytest.mark.slow  # runs docker-compose
def test_compose_redis_requires_the_password_the_broker_url_carries(tmp_path):
    result = _run_compose("config", env=SECRETS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    redis = services["redis"]
    password = SECRETS["REDIS_PASSWORD"]
    command = " ".join(redis["command"])
    assert "redis-server --requirepass" in command
    # The server and redis-cli (healthcheck) read the password from the container's environment.
    assert _env_of(redis)["REDISCLI_AUTH"] == password
    assert '"$$REDISCLI_AUTH"' in command and password not in command  # $$: compose's literal $
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    for name in AIRFLOW_SERVICES:
        assert _env_of(services[name])["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{password}@redis:6379/0"


@pytest.mark.slow  # runs docker-compose
def test_compose_runs_several_workers(tmp_path):
    """Two Celery workers by default (what make run-celery runs without containers), CCHC_WORKERS more."""
    for env, replicas in ((SECRETS, 2), ({**SECRETS, "CCHC_WORKERS": "4"}, 4)):
        result = _run_compose("config", env=env, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        worker = yaml.safe_load(result.stdout)["services"]["airflow-worker"]
        assert worker["deploy"]["replicas"] == replicas
        assert "container_name" not in worker  # replicas need names of their own


@pytest.mark.slow  # runs docker-compose
@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_config_refuses_a_missing_secret(tmp_path, missing):
    env = {name: value for name, value in SECRETS.items() if name != missing}
    result = _run_compose("config", "-q", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


# --------------------------------------------------------------------------------------------------
# layout


def test_all_services_exist(compose):
    assert ALL_SERVICES <= set(compose["services"])


def test_airflow_services_use_celery_and_the_right_commands(compose):
    services = compose["services"]
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == command, name
        env = _env_of(service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh", name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert (
            env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
            and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        )
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert _is_pure_interpolation(env["AIRFLOW__API_AUTH__JWT_SECRET"]), name
        assert _is_pure_interpolation(env["AIRFLOW__CORE__FERNET_KEY"]), name
        assert service["build"]["dockerfile"] == "Dockerfile", name
        assert (service["depends_on"]["airflow-init"]["condition"]) == "service_completed_successfully", name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
    assert "127.0.0.1:8080:8080" in [
        _interpolate(port, {}) for port in services["airflow-apiserver"]["ports"]
    ]
    worker_deps = services["airflow-worker"]["depends_on"]
    for dependency in ("warehouse", "portal-simulator", "mailpit"):
        assert worker_deps[dependency]["condition"] == "service_healthy"


def test_databases_and_redis_have_healthchecks(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "warehouse", "portal-simulator", "mailpit"):
        assert services[name]["healthcheck"]["test"], name
    warehouse = services["warehouse"]
    assert re.fullmatch(r"postgres:1[56](\..*)?", warehouse["image"])
    warehouse_volume = warehouse["volumes"][0].split(":")[0]
    assert warehouse_volume in compose["volumes"]
    assert warehouse_volume not in " ".join(services["postgres"]["volumes"])


def test_airflow_init_migrates_and_creates_the_admin_from_env(compose):
    init = compose["services"]["airflow-init"]
    env = _env_of(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert _is_pure_interpolation(env["_AIRFLOW_WWW_USER_PASSWORD"])
    assert env["_AIRFLOW_WWW_USER_USERNAME"].startswith("${")
    assert "/entrypoint airflow version" in "\n".join(init["command"])


def test_include_is_mounted_and_importable(compose):
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    editable_from = re.search(r"pip install[^\n]*--no-deps -e (\S+)", dockerfile)
    assert editable_from, "the Dockerfile installs the cchc package editable"
    for name in (*AIRFLOW_SERVICES, "airflow-init", "portal-simulator"):
        service = compose["services"][name]
        mounts = dict(volume.split(":")[:2] for volume in service["volumes"])
        target = mounts.get("./include")
        assert target, f"{name} mounts ./include"
        pythonpath = _env_of(service).get("PYTHONPATH", "").split(":")
        # importable: on PYTHONPATH, or the editable install's source dir is the mount point's parent
        assert target in pythonpath or target == f"{editable_from[1]}/include", name
        for source in ("./dags", "./plugins", "./scenarios"):
            if name != "portal-simulator" or source == "./scenarios":
                assert source in mounts, (name, source)
    common_volumes = compose["services"]["airflow-worker"]["volumes"]
    output = [volume for volume in common_volumes if volume.split(":")[1] == "/opt/cchc/output"]
    assert output and output[0].split(":")[0] in compose["volumes"]


def test_cchc_environment_and_connections(compose):
    fake = {**SECRETS, "CCHC_WAREHOUSE_PASSWORD": "pw"}
    for name in AIRFLOW_SERVICES:
        env = _env_of(compose["services"][name])
        assert env["CCHC_CONFIG_DIR"] == "/opt/cchc/scenarios/seed"
        assert env["CCHC_OUTPUT_DIR"] == "/opt/cchc/output"
        for conn in CONNECTIONS:
            assert conn in env, (name, conn)
        portal = json.loads(_interpolate(env["AIRFLOW_CONN_CCHC_PORTAL"], fake))
        assert (portal["host"], portal["port"], portal["extra"]["url"]) == (
            "portal-simulator",
            8765,
            "http://portal-simulator:8765",
        )
        # The simulator speaks http on the compose network: the connection must say so itself.
        assert portal["extra"]["allow_http"] is True
        from cchc.portal.client import PortalClient

        conn = type("Conn", (), {**portal, "conn_id": "cchc_portal", "extra_dejson": portal["extra"]})
        assert PortalClient.from_connection(conn).base_url == "http://portal-simulator:8765"
        warehouse = json.loads(_interpolate(env["AIRFLOW_CONN_CCHC_WAREHOUSE"], fake))
        assert warehouse["conn_type"] == "generic"
        assert warehouse["extra"]["url"] == "postgresql+psycopg://cchc:pw@warehouse:5432/cchc"
        assert (warehouse["host"], warehouse["port"], warehouse["password"]) == ("warehouse", 5432, "pw")
        smtp = json.loads(_interpolate(env["AIRFLOW_CONN_SMTP_DEFAULT"], fake))
        assert (smtp["conn_type"], smtp["host"], smtp["port"]) == ("smtp", "mailpit", 1025)
        assert smtp["extra"]["disable_ssl"] is True and smtp["extra"]["disable_tls"] is True
        assert "@" in smtp["extra"]["from_email"]


def test_portal_simulator_runs_cchc_simulate(compose):
    simulator = compose["services"]["portal-simulator"]
    command = simulator["command"]
    command = command if isinstance(command, list) else command.split()
    assert command == [
        "cchc",
        "simulate",
        "--config-dir",
        "/opt/cchc/scenarios/seed",
        "--host",
        "0.0.0.0",
        "--port",
        "8765",
    ]
    assert simulator["image"] == compose["services"]["airflow-worker"]["image"]


def test_mailpit_exposes_smtp_and_web_ui(compose):
    mailpit = compose["services"]["mailpit"]
    assert "axllent/mailpit" in mailpit["image"]
    published = [str(port).split(":")[-1] for port in mailpit.get("ports", [])]
    assert "8025" in published
    assert {"1025", "8025"} <= {str(port) for port in mailpit.get("expose", [])} | set(published)


def test_no_literal_secrets(compose):
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for path, value in _walk_strings(compose):
        key = path[-1] if path else ""
        if _SECRET_KEY.search(key):
            assert _is_pure_interpolation(value), f"{'.'.join(path)} = {value!r} is not ${{VAR:?...}}"
        # credentials inside URLs: scheme://user:PASSWORD@host
        for match in re.finditer(r"://[^:/@\s\"']*:([^@\s\"']*)@", value):
            password = match[1]
            assert password == "" or _is_pure_interpolation(password), f"{'.'.join(path)}: {value!r}"
    # "password" fields inside the JSON connections
    for match in re.finditer(r'"password":\s*"([^"]*)"', text):
        assert _is_pure_interpolation(match[1]), match[0]


def test_env_example_lists_every_variable_and_holds_no_secret(compose):
    referenced = {
        match["name"]
        for _, value in _walk_strings(compose)
        for match in _INTERPOLATION.finditer(value.replace("$$", ""))
    }
    example = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert referenced - set(example) == set()
    for name in SECRETS:
        assert name in referenced
        assert example[name] == "", f"{name} must be left empty in docker/.env.example"


# --------------------------------------------------------------------------------------------------
# Dockerfile


def _pinned_airflow() -> str:
    match = re.search(r"^apache-airflow==(\S+)\s*$", REQUIREMENTS.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "requirements.txt pins apache-airflow"
    return match[1]


def test_dockerfile_from_matches_the_pinned_airflow():
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(froms) == 1
    match = re.fullmatch(r"apache/airflow:(?P<version>[0-9.]+)-python(?P<python>3\.\d+)", froms[0])
    assert match, froms[0]
    assert match["version"] == _pinned_airflow()
    assert match["python"] == "3.11"  # requirements.txt is compiled for --python-version 3.11


def test_dockerfile_installs_requirements_system_packages_and_cchc():
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(
        r'pip install[^\n]*"apache-airflow==\$\{AIRFLOW_VERSION\}"[^\n]*-r \S*requirements\.txt', dockerfile
    )
    apt = re.search(r"apt-get install[^\n]*\\\n(?:.*\\\n)*.*", dockerfile)
    assert apt
    for package in ("libreoffice-writer-nogui", "python3-uno", "fonts-liberation2", "poppler-utils"):
        assert package in apt[0]
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users[0] == "root" and users[-1] == "airflow"
    assert (
        dockerfile.index("USER root") < dockerfile.index("apt-get install") < dockerfile.index("USER airflow")
    )


def test_dockerignore_keeps_secrets_and_venv_out_of_the_build_context():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", ".git"} <= patterns
