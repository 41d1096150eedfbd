"""docker-compose.yml, with its include of self-hosted Sentry and its profiles, loaded by Docker Compose's own
loader (the docker-compose v2 CLI from PyPI; `config` needs no daemon). Sentry's part is the STAND-IN
repository (tests/fixtures/self-hosted-stand-in), written there by sentry-init.sh as on a user's machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.peers import build

ROOT = Path(__file__).resolve().parents[2]
OURS = ["app", "otel-collector", "prometheus", "loki", "grafana"]


@pytest.fixture
def initialised(workspace):
    result = workspace.sentry_init()
    assert result.returncode == 0, result.stderr
    return workspace


def load(workspace, **env) -> dict:
    result = workspace.compose("config", "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", f"compose warned: {result.stderr}"
    return json.loads(result.stdout)


def test_services_read_top_down_in_data_flow_order():
    services = list(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])
    assert services == OURS


def test_the_whole_stack_loads_with_every_image_pinned_from_versions_env(initialised):
    config = load(initialised)
    versions = build.read_versions()
    services = config["services"]
    assert set(OURS) < set(services) and {"web", "nginx", "relay", "postgres", "redis"} < set(services)
    for name, service in services.items():
        image = service["image"]
        assert re.search(r":[\w][\w.-]*$", image.rsplit("/", 1)[-1]), f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: {image}"
    assert services["otel-collector"]["image"] == f"otel/opentelemetry-collector-contrib:{versions['OTELCOL_VERSION']}"
    assert services["prometheus"]["image"] == f"prom/prometheus:v{versions['PROMETHEUS_VERSION']}"
    assert services["loki"]["image"] == f"grafana/loki:{versions['LOKI_VERSION']}"
    assert services["grafana"]["image"] == f"grafana/grafana:{versions['GRAFANA_VERSION']}"
    assert services["grafana"]["environment"]["GF_PLUGINS_PREINSTALL_SYNC"] == \
        f"grafana-sentry-datasource@{versions['GRAFANA_SENTRY_PLUGIN_VERSION']}"
    assert services["app"]["build"]["args"]["PYTHON_IMAGE"] == versions["PYTHON_IMAGE"]
    assert services["web"]["image"].endswith(f":{versions['SENTRY_SELF_HOSTED_VERSION']}")


def test_dependencies_and_volumes_resolve(initialised):
    config = load(initialised)
    services = config["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on missing {dependency}"
        for mount in service.get("volumes", []):
            if mount["type"] == "volume":
                assert mount["source"] in config["volumes"], f"{name}: volume {mount['source']} is not declared"
            elif mount["type"] == "bind" and name in OURS:
                assert Path(mount["source"]).exists(), f"{name}: {mount['source']} does not exist"
    assert services["app"]["depends_on"]["otel-collector"]["condition"] == "service_started"
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name in ("prometheus-data", "loki-data", "grafana-data"):
        assert name in config["volumes"]


def test_no_port_is_published_beyond_loopback_by_default(initialised):
    services = load(initialised)["services"]
    published = [(name, port) for name, service in services.items() for port in service.get("ports", [])]
    assert {name for name, _ in published} == {"app", "otel-collector", "prometheus", "loki", "grafana", "nginx"}
    for name, port in published:
        assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"


def test_the_bind_address_is_a_setting(initialised):
    services = load(initialised, BIND_ADDRESS="0.0.0.0")["services"]
    assert services["grafana"]["ports"][0]["host_ip"] == "0.0.0.0"


def test_the_sentry_profile_selects_sentrys_services(initialised):
    assert "process-spans" in load(initialised)["services"]
    errors_only = load(initialised, COMPOSE_PROFILES="errors-only")["services"]
    assert "process-spans" not in errors_only
    assert set(OURS) < set(errors_only) and "web" in errors_only


def test_our_services_have_memory_limits_and_the_checkable_ones_healthchecks(initialised):
    services = load(initialised)["services"]
    for name in OURS:
        assert services[name].get("mem_limit"), f"{name} has no memory limit"
    for name in ("prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    dockerfile = (ROOT / "app" / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the app image must not run as root"


def without_comments(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))


def test_every_setting_a_config_file_reads_is_given_by_compose(initialised):
    services = load(initialised)["services"]
    collector_needs = set(re.findall(r"\$\{env:(\w+)\}", without_comments(ROOT / "otel-collector-config.yaml")))
    assert collector_needs, "the collector config reads no setting?"
    assert collector_needs <= set(services["otel-collector"]["environment"]), collector_needs
    datasources = without_comments(ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml")
    grafana_needs = set(re.findall(r"(?<!\$)\$\{(\w+)\}", datasources))
    assert grafana_needs <= set(services["grafana"]["environment"]), grafana_needs


def test_config_files_are_mounted_where_their_programs_look(initialised):
    services = load(initialised)["services"]

    def targets(name):
        return {Path(m["source"]).name: m["target"] for m in services[name]["volumes"] if m["type"] == "bind"}

    assert targets("prometheus")["prometheus"] == "/etc/prometheus/prometheus"
    assert "prometheus/rules/*.yml" in yaml.safe_load((ROOT / "prometheus.yml").read_text())["rule_files"]
    assert targets("otel-collector")["otel-collector-config.yaml"] in " ".join(services["otel-collector"]["command"])
    assert targets("loki")["loki-config.yaml"] in " ".join(services["loki"]["command"])
    assert targets("grafana")["dashboards"] == "/etc/grafana/dashboards"
    assert targets("grafana")["provisioning"] == "/etc/grafana/provisioning"
