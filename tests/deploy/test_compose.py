"""The production deployment files (``docker-compose.yml``, ``Dockerfile``, ``.dockerignore``,
``deploy/``) checked without Docker: the compose file is parsed and its services, dependencies,
secrets and app configuration are compared with the code they run (``store.settings.Settings``,
the ``yuanzhu`` click commands, ``pyproject.toml``).

Parsing YAML needs PyYAML (``pyyaml`` in the ``test`` extra). Without it the compose checks
skip with that reason, except under ``CI=true``, where they fail, like the PostgreSQL tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import click
import pytest

from domain.calendar import parse_year_table
from store.settings import DEVELOPMENT_SECRET, Settings, SettingsError, load_settings

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the environment
    yaml = None

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
OPERATIONS_GUIDE = ROOT / "docs" / "operations.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

APP_SERVICES = ("app-migrate", "worker", "api")
# Names that hold a secret: a default for any of them would be a default secret.
SECRET_WORDS = ("SECRET", "PASSWORD", "PWD", "KEY", "TOKEN")
REQUIRED_SECRETS = {
    "YUANZHU_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "APP_DB_PASSWORD",
    "TEMPORAL_DB_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "YUANZHU_S3_ACCESS_KEY",
    "YUANZHU_S3_SECRET_KEY",
}
COMPLETED = "service_completed_successfully"
# The workers' Prometheus endpoint in the compose topology (deploy/prometheus/prometheus.yml).
WORKER_METRICS_PORT = 9464
HEALTHY = "service_healthy"

Compose = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Compose:
    """docker-compose.yml as parsed YAML (anchors and merge keys resolved), not interpolated."""
    if yaml is None:
        message = "PyYAML is not installed: add 'pyyaml' to the test extra in pyproject.toml"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI=true requires the deployment checks to run")
        pytest.skip(message)
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def services(compose: Compose) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever of the two compose forms it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {name: value for name, value in pairs}
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def depends_on(service: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # the short form has no condition
        return {name: {} for name in deps}
    return {name: spec or {} for name, spec in deps.items()}


def one_shot_services(compose: Compose) -> set[str]:
    """Services something waits on to *finish*: they run once and exit."""
    return {
        name
        for service in services(compose).values()
        for name, spec in depends_on(service).items()
        if spec.get("condition") == COMPLETED
    }


def command(service: Mapping[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


# -- compose-style interpolation ---------------------------------------------------------------

_VARIABLE = re.compile(
    r"""\$(?:
        (?P<escaped>\$)
      | \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}
      | (?P<named>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Substitute variables the way ``docker compose config`` does: ``$$`` is a literal ``$``;
    ``${VAR:-default}`` / ``${VAR-default}`` fall back when unset-or-empty / unset;
    ``${VAR:?message}`` / ``${VAR?message}`` are errors when unset-or-empty / unset;
    ``${VAR:+alt}`` / ``${VAR+alt}`` give ``alt`` when set. Returns the text and one
    ``"VAR: message"`` per failed required variable (compose stops at the first)."""
    errors: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        value = env.get(name)
        present = value is not None
        non_empty = bool(value)
        if op in (":?", "?"):
            if not (non_empty if op == ":?" else present):
                errors.append(f"{name}: {arg}".rstrip(": "))
                return ""
            return value or ""
        if op in (":-", "-"):
            return (value or "") if (non_empty if op == ":-" else present) else arg
        if op in (":+", "+"):
            return arg if (non_empty if op == ":+" else present) else ""
        return value or ""

    return _VARIABLE.sub(substitute, text), errors


def interpolate_tree(node: Any, env: Mapping[str, str], errors: list[str]) -> Any:
    """Interpolate every string value of parsed YAML (keys are left alone, as compose does)."""
    if isinstance(node, str):
        text, errs = interpolate(node, env)
        errors.extend(errs)
        return text
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env, errors) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, env, errors) for item in node]
    return node


def required_variables(text: str) -> set[str]:
    return {m["braced"] for m in _VARIABLE.finditer(text) if m["op"] in (":?", "?")}


@pytest.mark.parametrize(
    ("text", "env", "expected", "errors"),
    [
        ("$$HOME ${A}", {"A": "x"}, "$HOME x", []),
        ("${A:-d} ${B-d} ${C:-d}", {"A": "", "B": ""}, "d  d", []),
        ("${A:?need A} ${B?need B}", {"B": ""}, " ", ["A: need A"]),
        ("${A:?need A}", {"A": ""}, "", ["A: need A"]),
        ("${A:+yes}|${B+yes}|${C:+yes}", {"A": "1", "B": ""}, "yes|yes|", []),
        ("$A-$B", {"A": "1"}, "1-", []),
    ],
)
def test_interpolate_follows_compose_rules(
    text: str, env: dict[str, str], expected: str, errors: list[str]
) -> None:
    assert interpolate(text, env) == (expected, errors)


def test_interpolation_reports_each_missing_secret(compose: Compose) -> None:
    """With nothing set, every required variable is reported, so none has a default."""
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    required = required_variables(raw)
    assert required >= REQUIRED_SECRETS
    errors: list[str] = []
    interpolate_tree(compose, {}, errors)
    missing = {error.split(":", 1)[0] for error in errors}
    assert missing == required
    for name in REQUIRED_SECRETS:
        # The message after :? tells the operator what to set.
        assert any(e.startswith(f"{name}: ") and name in e.split(": ", 1)[1] for e in errors)


def test_secrets_in_compose_have_no_default() -> None:
    """Every interpolated variable whose name says secret uses the ``:?`` form, everywhere."""
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    for match in _VARIABLE.finditer(raw):
        name = match["braced"] or match["named"]
        if name and any(word in name for word in SECRET_WORDS):
            assert match["op"] == ":?", f"{match[0]} must be ${{{name}:?message}}"


def test_secret_environment_values_are_required_interpolations(compose: Compose) -> None:
    """No literal secret: a variable named like a secret, or a password inside a URL, is
    always a ``${VAR:?...}`` interpolation."""
    for name, service in services(compose).items():
        for key, value in environment(service).items():
            if any(word in key for word in SECRET_WORDS):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", value), (name, key, value)
            for password in re.findall(r"://[^/:@\s]+:(.+?)@", value):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", password), (name, key)


def test_interpolated_app_environment_is_valid_production_settings(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the secrets supplied, the environment compose gives the app loads as production
    settings (the process would start), with the database password in the URL."""
    secrets = {name: f"{name.lower()}-0123456789abcdef" for name in REQUIRED_SECRETS}
    errors: list[str] = []
    resolved = interpolate_tree(compose, secrets, errors)
    assert errors == []
    for name in list(os.environ):
        if name.startswith("YUANZHU_"):
            monkeypatch.delenv(name)
    for service_name in APP_SERVICES:
        env = environment(resolved["services"][service_name])
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        assert settings.environment == "production"
        assert settings.secret_key == secrets["YUANZHU_SECRET_KEY"]
        assert settings.database_url == (
            f"postgresql+psycopg://yuanzhu:{secrets['APP_DB_PASSWORD']}@postgresql:5432/yuanzhu"
        )
        assert not settings.is_sqlite
        # Production observability: JSON logs, the worker's metrics port, tracing optional.
        assert settings.log_format == "json"
        assert settings.worker_metrics_port == WORKER_METRICS_PORT
        assert settings.otel_endpoint == ""
        # Materials' files in the MinIO service, with the app's own key.
        assert settings.file_store == "s3"
        assert settings.s3_endpoint_url == "http://minio:9000"
        assert settings.s3_access_key == secrets["YUANZHU_S3_ACCESS_KEY"]


# -- services, images, dependencies ---------------------------------------------------------


def test_expected_services_exist(compose: Compose) -> None:
    assert set(services(compose)) >= {
        "postgresql",
        "temporal-admin-tools",
        "temporal",
        "temporal-create-namespace",
        "temporal-ui",
        "prometheus",
        "minio",
        "minio-create-bucket",
        *APP_SERVICES,
    }


def test_every_service_has_a_pinned_image_or_a_build(compose: Compose) -> None:
    for name, service in services(compose).items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name}: neither image nor build"
            continue
        assert "${" not in image, f"{name}: image tag must be written in the file: {image}"
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: untagged image {image}"
        assert tag != "latest", f"{name}: {image}"
        # At least major.minor: `postgres:16` would move under us.
        # MinIO pins its releases by date (RELEASE.2025-04-22T22-12-26Z), not by number.
        assert (
            re.match(r"v?\d+\.\d+", tag)
            or re.fullmatch(r"RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ", tag)
            or "@sha256:" in image
        ), f"{name}: {image}"


def test_temporal_tools_match_the_server_version(compose: Compose) -> None:
    """The admin-tools image carries the schema the server expects: same version."""
    svc = services(compose)
    server_tag = svc["temporal"]["image"].rpartition(":")[2]
    assert svc["temporal"]["image"].startswith("temporalio/server:")
    for name in ("temporal-admin-tools", "temporal-create-namespace"):
        assert svc[name]["image"] == f"temporalio/admin-tools:{server_tag}"


def test_app_image_tag_is_the_package_version(compose: Compose) -> None:
    version = PYPROJECT["project"]["version"]
    for name in APP_SERVICES:
        service = services(compose)[name]
        assert service["image"] == f"yuanzhu:{version}"
        assert service["build"]["context"] == "."


def test_depends_on_uses_conditions_on_existing_services(compose: Compose) -> None:
    names = set(services(compose))
    for name, service in services(compose).items():
        for dependency, spec in depends_on(service).items():
            assert dependency in names, f"{name} depends on unknown service {dependency}"
            assert spec.get("condition") in (HEALTHY, COMPLETED), (name, dependency)
            target = services(compose)[dependency]
            if spec["condition"] == HEALTHY:
                assert "healthcheck" in target, f"{dependency} has no healthcheck to wait on"


def test_one_shot_services_run_once(compose: Compose) -> None:
    one_shots = one_shot_services(compose)
    assert one_shots == {
        "temporal-admin-tools",
        "temporal-create-namespace",
        "app-migrate",
        "minio-create-bucket",
    }
    for name in one_shots:
        assert services(compose)[name].get("restart", "no") == "no", name
        assert "deploy" not in services(compose)[name], name


def test_long_running_services_restart_and_have_healthchecks(compose: Compose) -> None:
    for name, service in services(compose).items():
        if name in one_shot_services(compose):
            continue
        assert service.get("restart") in ("unless-stopped", "always"), name
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), (name, test)


def test_startup_order(compose: Compose) -> None:
    svc = services(compose)
    assert depends_on(svc["temporal-admin-tools"]) == {"postgresql": {"condition": HEALTHY}}
    assert depends_on(svc["temporal"]) == {"temporal-admin-tools": {"condition": COMPLETED}}
    assert depends_on(svc["temporal-create-namespace"]) == {"temporal": {"condition": HEALTHY}}
    assert depends_on(svc["app-migrate"]) == {"postgresql": {"condition": HEALTHY}}
    assert depends_on(svc["minio-create-bucket"]) == {"minio": {"condition": HEALTHY}}
    for name in ("worker", "api"):
        assert depends_on(svc[name]) == {
            "app-migrate": {"condition": COMPLETED},
            "temporal": {"condition": HEALTHY},
            "temporal-create-namespace": {"condition": COMPLETED},
            "minio-create-bucket": {"condition": COMPLETED},
        }


def test_worker_runs_at_least_two_replicas(compose: Compose) -> None:
    worker = services(compose)["worker"]
    assert worker["deploy"]["replicas"] >= 2
    # Replicas cannot share a fixed name or a published port.
    assert "container_name" not in worker and "ports" not in worker


def test_volumes_are_declared_and_bind_mounts_exist(compose: Compose) -> None:
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for name, service in services(compose).items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, "declared volumes nobody mounts"
    assert "postgresql-data" in used


# -- the app services ------------------------------------------------------------------------


def test_app_services_share_one_configuration(compose: Compose) -> None:
    """The x-app anchor: the same image and environment for every role."""
    svc = services(compose)
    first = svc[APP_SERVICES[0]]
    for name in APP_SERVICES[1:]:
        assert svc[name]["image"] == first["image"]
        assert environment(svc[name]) == environment(first)
    assert environment(compose["x-app"]) == environment(first)


def test_app_environment_names_are_settings_fields(compose: Compose) -> None:
    fields = {f"YUANZHU_{name.upper()}" for name in Settings.model_fields}
    for name in APP_SERVICES:
        env = environment(services(compose)[name])
        unknown = set(env) - fields
        assert not unknown, f"{name}: not settings of store.settings.Settings: {sorted(unknown)}"


def test_app_environment_has_the_production_settings(compose: Compose) -> None:
    for name in APP_SERVICES:
        env = environment(services(compose)[name])
        assert env["YUANZHU_ENVIRONMENT"] == "production"
        assert {
            "YUANZHU_DATABASE_URL",
            "YUANZHU_TEMPORAL_ADDRESS",
            "YUANZHU_SECRET_KEY",
            "YUANZHU_TEMPORAL_NAMESPACE",
            "YUANZHU_TEMPORAL_TASK_QUEUE",
        } <= set(env)
        assert env["YUANZHU_BIND_HOST"] == "0.0.0.0"


def test_database_url_points_at_the_postgresql_service(compose: Compose) -> None:
    url = environment(services(compose)["api"])["YUANZHU_DATABASE_URL"]
    resolved, errors = interpolate(url, {"APP_DB_PASSWORD": "0123abcd"})
    assert errors == []
    parts = urlsplit(resolved)
    assert parts.scheme == "postgresql+psycopg"
    assert (parts.username, parts.password) == ("yuanzhu", "0123abcd")
    assert parts.hostname == "postgresql" and parts.port == 5432
    assert parts.path == "/yuanzhu"


def test_app_commands_are_yuanzhu_subcommands(compose: Compose) -> None:
    from worker.cli import main

    expected = {"app-migrate": ["db", "upgrade"], "worker": ["worker"], "api": ["api"]}
    for name, args in expected.items():
        assert command(services(compose)[name]) == args
    for name in APP_SERVICES:
        group: click.Command = main
        for word in command(services(compose)[name]):
            assert isinstance(group, click.Group), f"{name}: {word!r} follows a leaf command"
            assert word in group.commands, f"{name}: 'yuanzhu {word}' is not a command"
            group = group.commands[word]
        assert not isinstance(group, click.Group), f"{name}: command stops at a group"


def test_app_talks_to_the_temporal_service_and_its_namespace(compose: Compose) -> None:
    svc = services(compose)
    env = environment(svc["api"])
    host, _, port = env["YUANZHU_TEMPORAL_ADDRESS"].rpartition(":")
    assert host == "temporal" and port == "7233"
    assert "7233" in " ".join(map(str, svc["temporal"]["healthcheck"]["test"]))
    namespace = environment(svc["temporal-create-namespace"])
    assert namespace["NAMESPACE"] == env["YUANZHU_TEMPORAL_NAMESPACE"]
    assert namespace["TEMPORAL_ADDRESS"] == env["YUANZHU_TEMPORAL_ADDRESS"]


def test_temporal_ui_points_at_the_temporal_service(compose: Compose) -> None:
    svc = services(compose)
    ui = svc["temporal-ui"]
    assert environment(ui)["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert (
        environment(ui)["TEMPORAL_DEFAULT_NAMESPACE"]
        == environment(svc["api"])["YUANZHU_TEMPORAL_NAMESPACE"]
    )
    # Published on 8233 like the embedded default, loopback only (no login of its own).
    assert ui["ports"] == ["127.0.0.1:8233:8080"]


def test_api_port_and_healthcheck_agree(compose: Compose) -> None:
    api = services(compose)["api"]
    port = environment(api)["YUANZHU_BIND_PORT"]
    assert [p.rsplit(":", 1)[1] for p in api["ports"]] == [port]
    check = " ".join(api["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/healthz" in check and "urllib" in check


def test_only_the_api_and_the_ui_publish_ports(compose: Compose) -> None:
    published = {name for name, service in services(compose).items() if service.get("ports")}
    assert published == {"api", "temporal-ui", "prometheus"}
    # Prometheus has no login: loopback only, like the Temporal UI.
    assert services(compose)["prometheus"]["ports"] == ["127.0.0.1:9090:9090"]


# -- observability -----------------------------------------------------------------------------


def prometheus_config(compose: Compose) -> tuple[dict[str, Any], list[str]]:
    """The Prometheus configuration the service mounts at its --config.file, and its flags."""
    service = services(compose)["prometheus"]
    flags = command(service)
    target = next(f.split("=", 1)[1] for f in flags if f.startswith("--config.file="))
    mounts = [v.split(":") for v in service["volumes"]]
    source = next(src for src, dest, *_ in mounts if dest == target)
    config = yaml.safe_load((ROOT / source).read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config, flags


def test_prometheus_scrapes_the_api_and_every_worker(compose: Compose) -> None:
    """The jobs reach the API's /metrics on its port and each worker replica (DNS discovery of
    the service name) on the metrics port the workers are configured with."""
    config, flags = prometheus_config(compose)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    app = environment(services(compose)["api"])
    api = jobs["yuanzhu-api"]
    assert api.get("metrics_path", "/metrics") == "/metrics"
    assert api["static_configs"] == [{"targets": [f"api:{app['YUANZHU_BIND_PORT']}"]}]
    worker = jobs["yuanzhu-worker"]
    assert worker.get("metrics_path", "/metrics") == "/metrics"
    [discovery] = worker["dns_sd_configs"]
    assert discovery["names"] == ["worker"] and discovery["type"] == "A"
    assert discovery["port"] == int(app["YUANZHU_WORKER_METRICS_PORT"]) == WORKER_METRICS_PORT
    assert re.fullmatch(r"\d+[smh]", config["global"]["scrape_interval"])
    # Its data in the declared volume it is told to use.
    assert "--storage.tsdb.path=/prometheus" in flags
    assert "prometheus-data:/prometheus" in services(compose)["prometheus"]["volumes"]


def test_workers_expose_their_metrics_port_on_the_network_only(compose: Compose) -> None:
    worker = services(compose)["worker"]
    assert worker["expose"] == [str(WORKER_METRICS_PORT)]
    assert environment(worker)["YUANZHU_BIND_HOST"] == "0.0.0.0"  # reachable from Prometheus
    assert "ports" not in worker
    exposed = next(a for kind, a in dockerfile_instructions() if kind == "EXPOSE").split()
    assert str(WORKER_METRICS_PORT) in exposed


def test_production_logs_are_json_and_tracing_is_optional(compose: Compose) -> None:
    env = environment(services(compose)["api"])
    assert env["YUANZHU_LOG_FORMAT"] == "json"
    # Off unless the operator names a collector (an empty default, not a required variable).
    assert env["YUANZHU_OTEL_ENDPOINT"] == "${YUANZHU_OTEL_ENDPOINT:-}"
    example = (DEPLOY / "production.env.example").read_text(encoding="utf-8")
    assert "# YUANZHU_OTEL_ENDPOINT=" in example


def test_the_api_and_the_workers_agree_on_the_department_data(compose: Compose) -> None:
    """One value for every service of the app image: the API pre-checks applications with the
    imported lists unless the workers ask another source (#22)."""
    svc = services(compose)
    values = {
        name: environment(svc[name]).get("YUANZHU_DEPARTMENT_DATA") for name in ("api", "worker")
    }
    assert set(values.values()) == {"${YUANZHU_DEPARTMENT_DATA:-imported}"}, values
    example = (DEPLOY / "production.env.example").read_text(encoding="utf-8")
    assert "# YUANZHU_DEPARTMENT_DATA=adapter" in example


# -- Temporal and PostgreSQL setup -----------------------------------------------------------


def test_temporal_uses_postgresql_with_its_own_role(compose: Compose) -> None:
    svc = services(compose)
    server = environment(svc["temporal"])
    assert server["DB"] == "postgres12"
    assert server["POSTGRES_SEEDS"] == "postgresql"
    assert (server["DBNAME"], server["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    tools = environment(svc["temporal-admin-tools"])
    assert tools["PG_USER"] == server["POSTGRES_USER"] == "temporal"
    assert tools["SQL_PASSWORD"] == server["POSTGRES_PWD"]
    dynamic = server["DYNAMIC_CONFIG_FILE_PATH"]
    mounts = [v.split(":") for v in svc["temporal"]["volumes"]]
    assert any(
        dynamic.startswith(target + "/") and (ROOT / src / Path(dynamic).name).is_file()
        for src, target, *_ in mounts
    )


def test_dynamic_config_is_a_list_of_values_per_key(compose: Compose) -> None:
    """Temporal refuses to start on a malformed dynamic config file."""
    path = DEPLOY / "temporal" / "dynamicconfig" / "production-sql.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(config, dict) and config
    for key, values in config.items():
        assert re.fullmatch(r"[a-z]+(\.[A-Za-z]+)+", key), key
        assert isinstance(values, list) and values, key
        assert all(isinstance(v, dict) and "value" in v for v in values), key
    assert config["frontend.enableUpdateWorkflowExecution"] == [{"value": True}]


def test_schema_script_creates_and_migrates_both_temporal_databases() -> None:
    script = (DEPLOY / "temporal/scripts/setup-schema.sh").read_text(encoding="utf-8")
    assert "--plugin postgres12" in script
    for step in ("create-database", "setup-schema -v 0.0", "update-schema -d"):
        assert step in script
    assert "temporal:temporal" in script and "temporal_visibility:visibility" in script
    assert "/etc/temporal/schema/postgresql/v12" in script
    assert "set -eu" in script


def test_postgres_init_creates_the_roles_the_services_use(compose: Compose) -> None:
    svc = services(compose)
    mounts = [v.split(":") for v in svc["postgresql"]["volumes"]]
    init_dir = next(src for src, target, *_ in mounts if target == "/docker-entrypoint-initdb.d")
    sql = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / init_dir).iterdir()))
    assert "CREATE ROLE yuanzhu LOGIN PASSWORD :'app_password'" in sql
    assert "CREATE DATABASE yuanzhu OWNER yuanzhu" in sql
    assert "CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password'" in sql
    # The passwords the script reads are the ones compose gives the postgresql service.
    env = environment(svc["postgresql"])
    for variable in ("APP_DB_PASSWORD", "TEMPORAL_DB_PASSWORD"):
        assert f'"${variable}"' in sql and variable in env


def test_example_env_lists_every_required_variable_without_values() -> None:
    example = (DEPLOY / "production.env.example").read_text(encoding="utf-8")
    assigned = dict(
        line.split("=", 1)
        for line in example.splitlines()
        if line and not line.startswith("#") and "=" in line
    )
    required = required_variables(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert set(assigned) == required
    assert all(value == "" for value in assigned.values()), "the template holds no secret"


# -- Dockerfile and .dockerignore --------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def test_dockerfile_base_images_are_pinned_python_311_slim() -> None:
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for kind, a in instructions if kind == "ARG" and "=" in a)
    stages: set[str] = set()
    froms = [a for kind, a in instructions if kind == "FROM"]
    assert froms
    for spec in froms:
        words = spec.split()
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], words[0])
        if image not in stages:
            assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image), image
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])


def test_dockerfile_installs_the_project_from_pyproject() -> None:
    instructions = dockerfile_instructions()
    copied = " ".join(a for kind, a in instructions if kind == "COPY")
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in (p.rstrip("*") for p in packages):
        assert re.search(rf"(^|\s){package}(\s|$)", copied), f"{package} is not copied"
    assert "pyproject.toml" in copied
    assert PYPROJECT["project"]["readme"] in copied  # the build reads it
    runs = [a for kind, a in instructions if kind == "RUN"]
    # `.` or `.[extra,...]`, with only extras pyproject.toml declares.
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    installs = [
        re.fullmatch(r"\.(?:\[([\w,-]+)\])?", word)
        for run in runs
        if "pip install" in run
        for word in shlex.split(run.split("pip install", 1)[1])
    ]
    targets = [m for m in installs if m]
    assert targets, "no `pip install .`"
    for target in targets:
        assert set((target[1] or "").split(",")) - {""} <= extras - {"test"}, target[0]
    assert not any("requirements" in run for run in runs), "one source of dependencies"


def test_dockerfile_runs_yuanzhu_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    users = [a for kind, a in instructions if kind == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    kinds = [kind for kind, _ in instructions]
    assert kinds.index("ENTRYPOINT") > len(kinds) - 1 - kinds[::-1].index("USER")
    assert dict(instructions)["ENTRYPOINT"] == '["yuanzhu"]'
    assert dict(instructions)["CMD"] == '["api"]'
    assert "8000" in dict(instructions)["EXPOSE"].split()


def test_worker_healthcheck_script_is_in_the_image(compose: Compose) -> None:
    test = services(compose)["worker"]["healthcheck"]["test"]
    path_in_image = next(part for part in test if part.endswith(".py"))
    copies = [a.split() for kind, a in dockerfile_instructions() if kind == "COPY"]
    assert any(c[-1] == path_in_image and (ROOT / c[-2]).is_file() for c in copies), (
        f"{path_in_image} is not copied into the image"
    )


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "tests", "bench", "**/.env"} <= patterns
    # Nothing the Dockerfile copies may be ignored.
    for _, args in (i for i in dockerfile_instructions() if i[0] == "COPY"):
        for source in args.split()[:-1]:
            if not source.startswith("--"):
                assert source not in patterns and source.split("/")[0] not in patterns, source


def test_a_fresh_install_gets_greenlet_for_async_sqlalchemy() -> None:
    deps = [d.replace(" ", "").lower() for d in PYPROJECT["project"]["dependencies"]]
    assert any(
        re.match(r"sqlalchemy\[[^\]]*asyncio[^\]]*\]", d) or re.match(r"greenlet\b", d)
        for d in deps
    )


# -- settings and the worker health check ----------------------------------------------------


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(SettingsError, match="YUANZHU_SECRET_KEY"):
        load_settings(environment="production", secret_key=DEVELOPMENT_SECRET)


def _load_worker_healthcheck() -> ModuleType:
    path = DEPLOY / "docker" / "worker_healthcheck.py"
    spec = importlib.util.spec_from_file_location("worker_healthcheck", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worker_healthcheck_wants_a_recent_poll_from_this_host() -> None:
    polling_recently: Callable[..., bool] = _load_worker_healthcheck().polling_recently
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    recent = now - timedelta(seconds=70)
    assert polling_recently([("1@abc123", recent)], "abc123", now)
    assert not polling_recently([("1@abc1234", recent)], "abc123", now)  # another container
    assert not polling_recently([("1@abc123", now - timedelta(minutes=10))], "abc123", now)
    assert not polling_recently([], "abc123", now)


# -- the operations guide ----------------------------------------------------------------------


def test_operations_guide_calendar_example_is_importable() -> None:
    """The holiday file shown to operators is accepted by `yuanzhu calendar import`."""
    guide = OPERATIONS_GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", guide, re.DOTALL)
    assert len(blocks) == 1
    table = parse_year_table(json.loads(blocks[0]), source="docs/operations.md")
    assert table.year == 2027 and table.workdays


def test_operations_guide_commands_exist() -> None:
    """Every `yuanzhu ...` / compose `api ...` command the guide tells operators to run is a
    real command (the first two words are checked against the click tree)."""
    from worker.cli import main

    guide = OPERATIONS_GUIDE.read_text(encoding="utf-8")
    used = re.findall(
        r"(?:`yuanzhu |--no-deps(?: -T)?(?: -v \S+)? api )([a-z-]+)(?: ([a-z-]+))?", guide
    )
    assert len(used) >= 5
    for first, second in used:
        assert first in main.commands, first
        group = main.commands[first]
        if isinstance(group, click.Group):
            assert second in group.commands, f"{first} {second}"
