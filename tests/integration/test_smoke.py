"""`make smoke` (tools/smoke.py) against the loopback stack, against a broken one, and against recorded
Sentry and Grafana API responses.

On the loopback stack Bugsink stands in for Sentry's errors and the OTLP capture server for Sentry's traces
(it answers Sentry's events API from the spans it received); Grafana is not run, so it is skipped there and
its API check is tested with recorded responses instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.peers.stack import LoopbackStack

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "fixtures" / "sentry-api"
sys.path.insert(0, str(ROOT / "tools"))
import smoke  # noqa: E402 (tools/ is not a package)


def smoke_env(stack: LoopbackStack) -> dict[str, str]:
    return {
        "APP_URL": stack.app_url,
        "PROMETHEUS_URL": stack.url("prometheus"),
        "LOKI_URL": stack.url("loki"),
        "SMOKE_ERRORS_API": "bugsink",
        "BUGSINK_URL": stack.bugsink.url,
        "BUGSINK_TOKEN": stack.bugsink.token,
        "BUGSINK_PROJECT_ID": str(stack.project["id"]),
        "SENTRY_API_URL": stack.sentry_otlp.traces_url.split("/api/")[0],
        "SENTRY_URL": "http://localhost:9000",
    }


def run_smoke(stack: LoopbackStack, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "smoke.py"), "--env-file", "/dev/null", "--skip", "grafana",
         "--timeout", str(timeout), *args],
        env={**os.environ, **smoke_env(stack)}, capture_output=True, text=True, timeout=timeout * 3 + 60,
    )


def test_smoke_finds_every_signal_of_one_trace_in_the_loopback_stack(loopback_stack):
    result = run_smoke(loopback_stack)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for service in ("app", "prometheus", "loki", "sentry"):
        assert f"waiting for {service}" in out and "ready (" in out
    table = {line[:26].strip(): line[26:].split()[-3:] for line in out.split("link / cause")[1].splitlines()
             if line.strip() and not line.startswith("Every")}
    for signal in ("error", "error (ZeroDivisionError)", "trace", "logs", "request metrics", "exemplar"):
        found, seconds, link = table[signal]
        assert found == "yes" and seconds.endswith("s") and link.startswith("http"), (signal, table[signal])
    assert table["grafana"][0] == "skip"
    assert "Every signal arrived, under one trace id." in out
    print(out)


@pytest.fixture
def stack_without_loki(binaries, bugsink, tmp_path):
    stack = LoopbackStack(tmp_path / "stack", binaries, bugsink).start()
    stack.services["loki"].stop()
    yield stack
    stack.stop()


def test_smoke_fails_and_names_loki_when_loki_is_down(stack_without_loki):
    result = run_smoke(stack_without_loki, timeout=15)
    assert result.returncode == 1, result.stdout
    assert "waiting for loki" in result.stdout and "no answer after 15s" in result.stdout
    missing = result.stdout.split("MISSING: ", 1)[1]
    assert missing.splitlines()[0] == "logs in Loki", missing
    assert "Loki does not answer at" in missing


# ------------------------------------------------------------- Sentry's and Grafana's APIs, recorded


class RecordedApi:
    """Serves the recorded responses, with the ids a test chooses, and remembers what was asked."""

    def __init__(self, trace_id: str, event_id: str, unhealthy: set[str] = frozenset()):
        self.asked: list[tuple[str, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api.asked.append((self.path, dict(self.headers)))
                path = self.path.split("?")[0]
                routes = {
                    f"/api/0/projects/sentry/flask-app/events/{event_id}/": "project-event.json",
                    "/api/0/organizations/sentry/events/": "org-events-spans.json",
                    "/api/datasources": "grafana-datasources.json",
                    "/api/search": "grafana-search.json",
                }
                if path.startswith("/api/datasources/uid/"):
                    uid = path.split("/")[4]
                    ok = uid not in unhealthy
                    return self.answer(200 if ok else 400, {"status": "OK" if ok else "ERROR",
                                                            "message": "Data source is working" if ok else
                                                            "Unauthorized: invalid token"})
                if path not in routes:
                    return self.answer(404, {"detail": "The requested resource does not exist"})
                text = (RECORDED / routes[path]).read_text()
                self.answer(200, json.loads(text.replace("TRACE_ID", trace_id).replace("EVENT_ID", event_id)))

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def config(self) -> smoke.Config:
        return smoke.Config.load(Path("/dev/null"), {
            "SENTRY_URL": "http://localhost:9000", "SENTRY_API_URL": self.url, "GRAFANA_URL": self.url,
            "PROMETHEUS_URL": self.url, "APP_URL": self.url,
            "GRAFANA_SENTRY_TOKEN": "sntryu_recorded", "GRAFANA_ADMIN_PASSWORD": "pw"})


@pytest.fixture
def ids():
    return "4bf92f3577b34da6a3ce929d0e0e4736", "d575782a35ad4823a58a352dca0fca76"


def request_for(trace_id: str, event_id: str) -> smoke.Request:
    return smoke.Request("/error", trace_id, 0.0, 500, {"event_id": event_id})


def test_the_sentry_error_check_reads_the_event_and_its_trace(ids):
    trace_id, event_id = ids
    api = RecordedApi(trace_id, event_id)
    link = smoke.find_sentry_error(api.config(), request_for(trace_id, event_id))
    assert link == f"http://localhost:9000/organizations/sentry/issues/1234/events/{event_id}/"
    path, headers = api.asked[-1]
    assert headers["Authorization"] == "Bearer sntryu_recorded"


def test_the_sentry_error_check_refuses_an_event_of_another_trace(ids):
    trace_id, event_id = ids
    api = RecordedApi("0" * 32, event_id)
    with pytest.raises(smoke.NotYet, match="not " + trace_id):
        smoke.find_sentry_error(api.config(), request_for(trace_id, event_id))


def test_the_sentry_error_check_waits_for_an_event_not_yet_stored(ids):
    trace_id, event_id = ids
    api = RecordedApi(trace_id, "f" * 32)
    with pytest.raises(smoke.NotYet, match="not in Sentry yet"):
        smoke.find_sentry_error(api.config(), request_for(trace_id, event_id))


def test_the_sentry_trace_check_queries_spans_by_trace(ids):
    trace_id, event_id = ids
    api = RecordedApi(trace_id, event_id)
    link = smoke.find_sentry_trace(api.config(), request_for(trace_id, event_id))
    assert link.endswith(f"/performance/trace/{trace_id}/")
    assert "dataset=spans" in api.asked[-1][0] and f"trace%3A{trace_id}" in api.asked[-1][0]
    other = RecordedApi("1" * 32, event_id)
    with pytest.raises(smoke.NotYet):
        smoke.find_sentry_trace(other.config(), request_for(trace_id, event_id))


def test_the_grafana_check_wants_healthy_datasources_and_the_dashboards(ids):
    api = RecordedApi(*ids)
    assert smoke.find_grafana_ready(api.config(), request_for(*ids)).endswith("/dashboards")
    assert any(h["Authorization"].startswith("Basic ") for _, h in api.asked)
    broken = RecordedApi(*ids, unhealthy={"sentry"})
    with pytest.raises(smoke.NotYet, match="Sentry: Unauthorized: invalid token"):
        smoke.find_grafana_ready(broken.config(), request_for(*ids))


def test_an_errors_only_profile_skips_sentry_traces_and_says_why(ids):
    config = RecordedApi(*ids).config()
    config.profile = "errors-only"
    config.skip = {"sentry", "loki", "prometheus", "grafana"}
    evidence = smoke.run(config, out=open("/dev/null", "w"))
    [trace] = [e for e in evidence if e.signal == "trace"]
    assert trace.found is None and trace.detail == "Sentry profile is errors-only: no traces"
