"""The real docker-compose.yml, brought up by Docker Compose on a real Docker daemon, then `make smoke`.

What runs as a user gets it: the app image built from app/Dockerfile (only its base image swapped by a build
argument), the compose file's services, ports, healthchecks, volumes, environment and depends_on, the
collector, Prometheus and Loki configs. STAND-INS (tests/compose/): the collector, Prometheus and Loki images
(the same binaries the other tests build, packaged like the official images under the pinned names), Sentry
(Bugsink and the OTLP capture server behind a real nginx at Sentry's service name), and no Grafana.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.compose.images import build_all, ensure_dockerd, unavailable_reason
from tests.conftest import copy_of_repository, eventually
from tests.peers import build
from tests.peers.bugsink import BugsinkApi
from tests.peers.process import free_port
from tests.peers.queries import loki_line_count

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = str(Path(sys.executable).with_name("docker-compose"))
PORTS = ("APP_PORT", "PROMETHEUS_PORT", "LOKI_PORT", "GRAFANA_PORT", "OTLP_GRPC_PORT", "OTLP_HTTP_PORT",
         "SENTRY_PORT", "BUGSINK_PORT", "SENTRY_OTLP_PORT")


class ComposeStack:
    def __init__(self, root: Path, project: str, settings: dict[str, str]):
        self.root, self.project, self.settings = root, project, settings

    def command(self, *args: str) -> list[str]:
        # The project's own command line, plus the stand-ins override.
        return [COMPOSE, "-p", self.project, "-f", "docker-compose.yml", "-f",
                "tests/compose/docker-compose.stand-ins.yml", *args]

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), cwd=self.root, capture_output=True, text=True, timeout=timeout)
        # Compose 2.40 can report an invalid project and still exit 0.
        if result.returncode != 0 or "invalid compose project" in result.stderr:
            logs = subprocess.run(self.command("logs", "--tail=40"), cwd=self.root, capture_output=True, text=True)
            raise AssertionError(f"docker compose {' '.join(args)} failed:\n{result.stderr[-4000:]}\n{logs.stdout[-6000:]}")
        return result

    def url(self, port: str) -> str:
        return f"http://127.0.0.1:{self.settings[port]}"


def write_env(root: Path, settings: dict[str, str]) -> None:
    """.env as sentry-init.sh would write it (its own tests cover that), with free ports for this run."""
    lines = [f"{key}={value}" for key, value in {**build.read_versions(), **settings}.items()]
    (root / ".env").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory):
    reason = unavailable_reason()
    if reason:
        # In CI a skipped peer is a failure: .ci/run installs Docker and debootstrap, and runs as root.
        if os.environ.get("CI"):
            pytest.fail(f"the compose test must run in CI, but {reason}")
        pytest.skip(f"needs Docker and debootstrap, as root ({reason}); .ci/run installs them")
    workdir = tmp_path_factory.mktemp("compose")
    daemon = ensure_dockerd(workdir)
    build_all()

    root = copy_of_repository(workdir / "repo")
    shutil.copytree(ROOT / "tests" / "fixtures" / "self-hosted-stand-in", root / "sentry" / "self-hosted")

    settings = {port: str(free_port()) for port in PORTS}
    settings.update({
        "BIND_ADDRESS": "127.0.0.1", "COMPOSE_PROFILES": "feature-complete", "SENTRY_PROJECT_ID": "1",
        "SENTRY_PUBLIC_KEY": secrets.token_hex(16), "GRAFANA_ADMIN_PASSWORD": secrets.token_hex(16),
        "SENTRY_OTLP_TRACES_URL": "http://nginx/api/1/integration/otlp/v1/traces/",
        "OTELCOL_TRACES_EXPORTERS": "[otlp_http/sentry, span_metrics]", "ENVIRONMENT": "compose-test",
        # `/` fails 10% of the time by default; the restart test counts the lines of requests that succeed.
        "FAILURE_RATE": "0",
    })
    (root / "sentry" / "self-hosted" / ".env.custom").write_text(f"SENTRY_BIND=127.0.0.1:{settings['SENTRY_PORT']}\n")
    write_env(root, settings)
    stack = ComposeStack(root, f"stack-test-{secrets.token_hex(3)}", settings)
    try:
        # Sentry's stand-in first: the app's DSN names a project in it.
        stack.compose("up", "-d", "--wait", "bugsink")
        token = stack.compose("exec", "-T", "bugsink", "cat", "/data/token").stdout.strip()
        project = BugsinkApi(stack.url("BUGSINK_PORT"), token).create_project("flask-app")
        dsn = urllib.parse.urlsplit(project["dsn"])
        settings["SENTRY_DSN"] = f"http://{dsn.username}@nginx{dsn.path}"  # as containers reach Sentry
        write_env(root, settings)
        stack.token, stack.bugsink_project = token, str(project["id"])

        stack.compose("up", "-d", "--build", "--wait", "--wait-timeout", "300")
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "10")
        if daemon is not None:
            daemon.stop()


def test_compose_up_then_make_smoke_finds_every_signal(compose_stack):
    stack = compose_stack
    ps = [json.loads(line) for line in stack.compose("ps", "--format", "json").stdout.splitlines() if line.strip()]
    states = {c["Service"]: (c["State"], c.get("Health", "")) for c in ps}
    for service in ("app", "otel-collector", "prometheus", "loki", "nginx", "bugsink", "sentry-otlp"):
        assert states[service][0] == "running", states
    assert states["app"][1] == "healthy" and states["prometheus"][1] == "healthy", states

    env = {**os.environ, "APP_URL": stack.url("APP_PORT"), "PROMETHEUS_URL": stack.url("PROMETHEUS_PORT"),
           "LOKI_URL": stack.url("LOKI_PORT"), "SMOKE_ERRORS_API": "bugsink",
           "BUGSINK_URL": stack.url("BUGSINK_PORT"), "BUGSINK_TOKEN": stack.token,
           "BUGSINK_PROJECT_ID": stack.bugsink_project, "SENTRY_API_URL": stack.url("SENTRY_OTLP_PORT")}
    result = subprocess.run([sys.executable, "tools/smoke.py", "--env-file", str(stack.root / ".env"), "--skip",
                             "grafana", "--timeout", "90"], cwd=stack.root, env=env, capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every signal arrived, under one trace id." in result.stdout


def test_no_log_line_is_lost_when_the_loki_container_restarts(compose_stack):
    stack = compose_stack
    prefix = secrets.token_hex(6)
    sent = 0

    def request():
        nonlocal sent
        trace_id = prefix + secrets.token_hex(10)
        urllib.request.urlopen(urllib.request.Request(
            stack.url("APP_PORT") + "/", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}),
            timeout=10)
        sent += 1

    for _ in range(20):
        request()
    restart = subprocess.Popen(stack.command("restart", "loki"), cwd=stack.root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while restart.poll() is None:
        request()
        time.sleep(0.1)
    for _ in range(20):
        request()

    def counted():
        lines = loki_line_count(stack.url("LOKI_PORT"),
                                f'{{service_name="flask-app"}} |= "said hello" | trace_id=~"{prefix}.*"')
        return lines if lines >= sent else None

    assert eventually(counted, timeout=180, interval=3, what=f"{sent} lines in Loki") == sent
