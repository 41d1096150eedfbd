"""Every config file, loaded by the program that runs it in production (built from the pinned versions)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.peers.build import collector_components

ROOT = Path(__file__).resolve().parents[2]
# What compose gives the collector besides its defaults (values as sentry-init.sh writes them).
COLLECTOR_ENV = {"SENTRY_OTLP_TRACES_URL": "http://nginx/api/2/integration/otlp/v1/traces/",
                 "SENTRY_PUBLIC_KEY": "0123456789abcdef0123456789abcdef"}


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kwargs)


def collector_validate(binaries, config: Path) -> subprocess.CompletedProcess:
    import os

    return run([binaries["otelcol"], "validate", f"--config={config}"], env={**os.environ, **COLLECTOR_ENV})


def test_the_collector_validates_its_config(binaries):
    result = collector_validate(binaries, ROOT / "otel-collector-config.yaml")
    assert result.returncode == 0, result.stderr


def test_the_collector_validator_catches_a_misspelt_key(binaries, tmp_path):
    broken = (ROOT / "otel-collector-config.yaml").read_text().replace("spike_limit_mib:", "spike_limit_mb:")
    (tmp_path / "broken.yaml").write_text(broken)
    result = collector_validate(binaries, tmp_path / "broken.yaml")
    assert result.returncode != 0
    assert "spike_limit_mb" in result.stderr


def test_the_built_collector_has_exactly_the_components_the_config_uses(binaries):
    built = yaml.safe_load(run([binaries["otelcol"], "components"]).stdout)
    modules = {kind: sorted(c["module"].split()[0] for c in built.get(kind) or []) for kind in
               ("receivers", "processors", "exporters", "connectors", "extensions")}
    wanted = {kind: sorted(collector_components().get(kind, [])) for kind in modules}
    assert modules == wanted


def test_the_collector_version_is_the_image_version(binaries):
    from tests.peers.build import read_versions

    built = yaml.safe_load(run([binaries["otelcol"], "components"]).stdout)
    assert built["buildinfo"]["version"] == read_versions()["OTELCOL_VERSION"]


def test_promtool_accepts_the_prometheus_config_and_rules(binaries):
    config = run([binaries["promtool"], "check", "config", "prometheus.yml"], cwd=ROOT)
    assert config.returncode == 0, config.stdout + config.stderr
    assert "2 rule files found" in config.stdout
    rules = run([binaries["promtool"], "check", "rules", *sorted((ROOT / "prometheus" / "rules").glob("*.yml"))])
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_the_alert_rules_pass_their_unit_tests(binaries):
    result = run([binaries["promtool"], "test", "rules", "prometheus/tests/alerts.test.yml"], cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alert_rule_tests_can_fail(binaries, tmp_path):
    tests = (ROOT / "prometheus" / "tests" / "alerts.test.yml").read_text()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "alerts.test.yml").write_text(tests.replace("app: 50% of requests fail", "app: 5%"))
    (tmp_path / "rules").symlink_to(ROOT / "prometheus" / "rules")
    result = run([binaries["promtool"], "test", "rules", "tests/alerts.test.yml"], cwd=tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("data_dir", ["/loki", None])
def test_loki_verifies_its_config(binaries, tmp_path, data_dir):
    import os

    env = {**os.environ, "LOKI_DATA_DIR": data_dir or str(tmp_path)}
    if data_dir is not None:
        env.pop("LOKI_DATA_DIR")  # the container's default
    result = run([binaries["loki"], f"-config.file={ROOT / 'loki-config.yaml'}", "-config.expand-env=true",
                  "-verify-config"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_loki_verification_rejects_an_unknown_key(binaries, tmp_path):
    broken = (ROOT / "loki-config.yaml").read_text().replace("retention_enabled:", "retention_enabeld:")
    (tmp_path / "loki.yaml").write_text(broken)
    result = run([binaries["loki"], f"-config.file={tmp_path / 'loki.yaml'}", "-config.expand-env=true",
                  "-verify-config"])
    assert result.returncode != 0
    assert "retention_enabeld" in result.stdout + result.stderr
