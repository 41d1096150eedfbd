"""Grafana cannot be built or run here: its provisioning is checked statically (this file) and every panel's
query is run against real Prometheus and Loki in tests/integration/test_pipeline.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__auto", "__range", "__value"}


def datasources() -> list[dict]:
    return yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())["datasources"]


def test_datasources_have_unique_uids_and_one_default():
    sources = datasources()
    uids = [s["uid"] for s in sources]
    assert len(uids) == len(set(uids))
    assert {s["type"] for s in sources} == {"prometheus", "loki", "grafana-sentry-datasource"}
    assert [s["name"] for s in sources if s.get("isDefault")] == ["Prometheus"]


def test_datasources_reach_backends_by_compose_service_name_or_setting():
    for source in datasources():
        url = source.get("url") or source["jsonData"]["url"]
        assert re.fullmatch(r"http://(prometheus:9090|loki:3100)|\$\{[A-Z_]+\}", url), url


def test_trace_links_open_the_trace_in_sentry_with_grafana_escaping():
    sources = {s["uid"]: s for s in datasources()}
    exemplar = sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"][0]
    derived = sources["loki"]["jsonData"]["derivedFields"][0]
    assert exemplar["name"] == "trace_id"
    assert derived["matcherType"] == "label" and derived["matcherRegex"] == "trace_id"
    for url in (exemplar["url"], derived["url"]):
        # $$ keeps Grafana's provisioning from reading ${__value.raw} as an environment variable.
        assert url == "${SENTRY_URL}/organizations/${SENTRY_ORG}/performance/trace/$${__value.raw}/"


def test_the_sentry_datasource_takes_its_token_from_the_environment():
    [sentry] = [s for s in datasources() if s["uid"] == "sentry"]
    assert sentry["secureJsonData"]["authToken"] == "${GRAFANA_SENTRY_TOKEN}"
    assert sentry["jsonData"]["orgSlug"] == "${SENTRY_ORG}"


def test_the_dashboard_provider_reads_the_folder_compose_mounts():
    [provider] = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_panels_use_provisioned_datasources_and_defined_variables(path):
    dashboard = json.loads(path.read_text())
    uids = {s["uid"] for s in datasources()}
    defined = {v["name"] for v in dashboard["templating"]["list"]} | BUILTIN_VARIABLES
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids
            used = set(re.findall(r"\$\{?(\w+)", target["expr"]))
            assert used <= defined, f"{panel['title']}: undefined variables {used - defined}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboards_have_no_hard_coded_hosts(path):
    text = path.read_text()
    assert not re.search(r"https?://|localhost|127\.0\.0\.1", text)


def test_dashboard_uids_are_unique():
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(DASHBOARDS) >= 3 and len(uids) == len(set(uids))
