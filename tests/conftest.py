"""Fixtures shared by the unit and integration tests.

Unit tests run the app in-process with the real OpenTelemetry SDK and the real sentry-sdk; only the last hop
is replaced: spans and logs go to the SDK's in-memory exporters, Sentry envelopes to a transport that keeps
them (the event is built, scrubbed and serialised exactly as it would be sent).

Integration tests start real peers on 127.0.0.1: the app under gunicorn, Bugsink (for Sentry), and the
collector, Prometheus and Loki built from the Go module proxy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sentry_sdk.transport import Transport

from stackapp import create_app, telemetry
from stackapp.settings import Settings
from tests.peers import build
from tests.peers.bugsink import Bugsink
from tests.peers.process import Service, free_port
from tests.peers.stack import LoopbackStack, start_app_under_gunicorn

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "app"
# A DSN that names a real-looking project; in unit tests the recording transport receives what it would send.
TEST_DSN = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/42"


# ---------------------------------------------------------------------------------------------- unit tests


@dataclass
class Recorded:
    """What the in-process app emitted: spans and log records (OTel), and Sentry events."""

    telemetry: telemetry.Telemetry
    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader
    envelopes: list = field(default_factory=list)

    def flush(self) -> None:
        self.telemetry.tracer_provider.force_flush()
        self.telemetry.logger_provider.force_flush()

    @property
    def spans(self):
        self.flush()
        return self.span_exporter.get_finished_spans()

    @property
    def logs(self):
        self.flush()
        return [item.log_record for item in self.log_exporter.get_finished_logs()]

    @property
    def events(self) -> list[dict]:
        return [item.payload.json for envelope in self.envelopes for item in envelope.items
                if item.type == "event"]

    def server_span(self, route: str):
        matches = [s for s in self.spans if s.kind.name == "SERVER" and s.attributes.get("http.route") == route]
        assert matches, f"no server span for {route}; spans: {[s.name for s in self.spans]}"
        return matches[-1]


class RecordingTransport(Transport):
    def __init__(self, envelopes: list):
        super().__init__()
        self.envelopes = envelopes

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)


@pytest.fixture(scope="session")
def _otel_session() -> Recorded:
    # OpenTelemetry allows one set of global providers a process: start them once, clear between tests.
    recorded = Recorded(
        telemetry=None, span_exporter=InMemorySpanExporter(), log_exporter=InMemoryLogRecordExporter(),
        metric_reader=InMemoryMetricReader(),
    )
    recorded.telemetry = telemetry.start_opentelemetry(
        Settings(otlp_endpoint=""), span_exporter=recorded.span_exporter, log_exporter=recorded.log_exporter,
        metric_reader=recorded.metric_reader,
    )
    return recorded


@pytest.fixture
def settings() -> Settings:
    return Settings(sentry_dsn=TEST_DSN, otlp_endpoint="", failure_rate=0.0, environment="test",
                    release="stackapp@test", server_name="test-host")


@pytest.fixture
def recorded(_otel_session: Recorded, settings: Settings) -> Recorded:
    _otel_session.flush()
    _otel_session.span_exporter.clear()
    _otel_session.log_exporter.clear()
    _otel_session.envelopes = []
    telemetry.start_sentry(settings, transport=RecordingTransport(_otel_session.envelopes))
    return _otel_session


@pytest.fixture
def client(recorded: Recorded, settings: Settings):
    return create_app(settings).test_client()


# ------------------------------------------------------------------------------------- integration tests


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory) -> Bugsink:
    server = Bugsink(tmp_path_factory.mktemp("bugsink")).start()
    yield server
    server.stop()


@dataclass
class AppServer:
    url: str
    service: Service

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
        """(status, JSON body or text, response headers): error statuses are answers here, not exceptions."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body, response_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, body, response_headers = error.code, error.read(), error.headers
        try:
            return status, json.loads(body), response_headers
        except ValueError:
            return status, body.decode(errors="replace"), response_headers


@pytest.fixture
def start_app(tmp_path):
    """Start the app under real gunicorn with gunicorn.conf.py, as the image runs it; env adds settings."""
    started: list[Service] = []

    def start(env: dict[str, str], workers: int = 2) -> AppServer:
        port = free_port()
        service = start_app_under_gunicorn(tmp_path, port, {"SERVER_NAME": "integration-test", **env}, workers)
        started.append(service)
        return AppServer(f"http://127.0.0.1:{port}", service)

    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    """The real collector, Prometheus, promtool and Loki: found in the cache or built now (minutes, once)."""
    return {"otelcol": build.build_collector(), **build.build_prometheus(), "loki": build.build_loki()}


@pytest.fixture(scope="session")
def loopback_stack(binaries, bugsink, tmp_path_factory) -> LoopbackStack:
    """The whole stack on 127.0.0.1 (tests/peers/stack.py), shared: each test follows its own trace ids."""
    running = LoopbackStack(tmp_path_factory.mktemp("stack"), binaries, bugsink).start()
    yield running
    running.stop()


def eventually(check, timeout: float = 60.0, interval: float = 1.0, what: str = "condition"):
    """Call `check` until it returns something truthy; fail with its last answer after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, urllib.error.URLError, KeyError, ValueError) as error:
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not true after {timeout:.0f}s; last answer: {last!r}")


def copy_of_repository(root: Path) -> Path:
    """The files git tracks (or would: new, not ignored), copied to `root`: a user's fresh clone."""
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    for name in tracked:
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    return root


@dataclass
class Workspace:
    """A copy of this repository (what git tracks) in which sentry-init.sh runs against a stand-in docker."""

    root: Path
    state: Path
    env: dict[str, str]

    def sentry_init(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        # As a user runs it (which also needs its executable bit).
        return subprocess.run(["./sentry-init.sh", *args], cwd=self.root, env={**self.env, **env},
                              capture_output=True, text=True, timeout=120)

    def calls(self) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()] if path.exists() else []

    def compose(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """The real Docker Compose CLI (no daemon needed for `config`)."""
        return subprocess.run([self.env["DOCKER_STAND_IN_COMPOSE"], *args], cwd=self.root,
                              env={**self.env, **env}, capture_output=True, text=True, timeout=60)


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    root = copy_of_repository(tmp_path / "repo")

    # The stand-in self-hosted repository, tagged like the real release.
    upstream = tmp_path / "self-hosted-stand-in"
    shutil.copytree(ROOT / "tests" / "fixtures" / "self-hosted-stand-in", upstream)
    version = build.read_versions()["SENTRY_SELF_HOSTED_VERSION"]
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                    ["tag", version]):
        subprocess.run(["git", *command], cwd=upstream, check=True, capture_output=True)

    state = tmp_path / "docker-state"
    state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(ROOT / "tests" / "peers" / "docker_stand_in.py")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "COMPOSE_", "DOCKER_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_STAND_IN_DIR": str(state),
        "DOCKER_STAND_IN_COMPOSE": str(Path(sys.executable).with_name("docker-compose")),
        "SENTRY_SELF_HOSTED_REPO": f"file://{upstream}",
        # Free ports, so the port check passes whatever else this machine runs.
        **{name: str(free_port()) for name in ("SENTRY_PORT", "APP_PORT", "GRAFANA_PORT", "PROMETHEUS_PORT",
                                               "LOKI_PORT", "OTLP_GRPC_PORT", "OTLP_HTTP_PORT")},
    }
    return Workspace(root, state, env)
