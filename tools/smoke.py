#!/usr/bin/env python3
"""`make smoke`: prove that a running stack delivered every signal of a request, all under one trace id.

It waits for each service, sends /sentry-test, /error and / with fresh `traceparent` headers, then looks for
the evidence through each backend's own API: the error (and, with the feature-complete profile, the trace)
in Sentry, the log lines in Loki, the request metrics and an exemplar in Prometheus, and Grafana's
datasources and dashboards. It prints one line per signal and exits 1 naming each missing one, with the
likely cause.

Addresses and tokens come from .env (written by sentry-init.sh) and the environment; the defaults fit
`docker compose up` on this machine. Only the standard library: it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = {"flask-app-red", "flask-app-logs", "telemetry-pipeline"}


@dataclass
class Config:
    app_url: str
    prometheus_url: str
    loki_url: str
    grafana_url: str
    grafana_user: str
    grafana_password: str
    sentry_url: str
    sentry_api_url: str
    sentry_org: str
    sentry_project: str
    sentry_token: str
    profile: str
    service_name: str
    # "sentry": Sentry's web API. "bugsink": the Sentry-protocol server the tests use in Sentry's place.
    errors_api: str = "sentry"
    bugsink_url: str = ""
    bugsink_token: str = ""
    bugsink_project: str = ""
    skip: set[str] = field(default_factory=set)
    timeout: float = 90.0

    @classmethod
    def load(cls, env_file: Path = ROOT / ".env", environ: dict[str, str] | None = None) -> "Config":
        values = read_env_file(env_file)
        values.update(os.environ if environ is None else environ)

        def get(key: str, default: str = "") -> str:
            return values.get(key) or default

        def local(port_key: str, port: str) -> str:
            return f"http://localhost:{get(port_key, port)}"

        sentry_url = get("SENTRY_URL", local("SENTRY_PORT", "9000"))
        return cls(
            app_url=get("APP_URL", local("APP_PORT", "8000")),
            prometheus_url=get("PROMETHEUS_URL", local("PROMETHEUS_PORT", "9090")),
            loki_url=get("LOKI_URL", local("LOKI_PORT", "3100")),
            grafana_url=get("GRAFANA_URL", local("GRAFANA_PORT", "3000")),
            grafana_user=get("GRAFANA_ADMIN_USER", "admin"),
            grafana_password=get("GRAFANA_ADMIN_PASSWORD"),
            sentry_url=sentry_url,
            sentry_api_url=get("SENTRY_API_URL", sentry_url),
            sentry_org=get("SENTRY_ORG", "sentry"),
            sentry_project=get("SENTRY_PROJECT", "flask-app"),
            sentry_token=get("SENTRY_API_TOKEN", get("GRAFANA_SENTRY_TOKEN")),
            profile=get("COMPOSE_PROFILES", "feature-complete"),
            service_name=get("OTEL_SERVICE_NAME", "flask-app"),
            errors_api=get("SMOKE_ERRORS_API", "sentry"),
            bugsink_url=get("BUGSINK_URL"),
            bugsink_token=get("BUGSINK_TOKEN"),
            bugsink_project=get("BUGSINK_PROJECT_ID"),
        )


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


class NotYet(Exception):
    """The evidence is not there (yet); the message says what was seen."""


def http_json(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, ValueError):
        return False


# ------------------------------------------------------------------------------------------- 1. wait


def services(config: Config) -> dict[str, str]:
    """What must answer before the smoke test starts: name -> readiness URL."""
    wanted = {
        "app": f"{config.app_url}/health",
        "prometheus": f"{config.prometheus_url}/-/ready",
        "loki": f"{config.loki_url}/ready",
        "grafana": f"{config.grafana_url}/api/health",
        "sentry": f"{config.bugsink_url}/health/ready" if config.errors_api == "bugsink"
        else f"{config.sentry_api_url}/_health/",
    }
    return {name: url for name, url in wanted.items() if name not in config.skip}


def wait_for_services(config: Config, out=sys.stdout) -> list[str]:
    """Wait (bounded) for each service; returns the ones that never answered."""
    missing = []
    for name, url in services(config).items():
        started = time.monotonic()
        print(f"waiting for {name:<10} {url} ...", end=" ", file=out, flush=True)
        while not reachable(url):
            if time.monotonic() - started > config.timeout:
                print(f"no answer after {config.timeout:.0f}s", file=out)
                missing.append(name)
                break
            time.sleep(1)
        else:
            print(f"ready ({time.monotonic() - started:.1f}s)", file=out)
    return missing


# ---------------------------------------------------------------------------------------- 2. traffic


@dataclass
class Request:
    path: str
    trace_id: str
    sent_at: float
    status: int
    body: dict
    # The app's request counter for this path before the request, so the check sees this request counted.
    counted_before: float = 0.0


def send(config: Config, path: str) -> Request:
    counted_before = count_requests(config, path)
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    sent_at = time.time()
    request = urllib.request.Request(config.app_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return Request(path, trace_id, sent_at, status, body, counted_before)


def count_requests(config: Config, path: str) -> float:
    try:
        rows = prometheus_query(config, f'sum(http_requests_total{{endpoint="{path}"}})')
    except (OSError, ValueError, KeyError):
        return 0.0
    return float(rows[0]["value"][1]) if rows else 0.0


# --------------------------------------------------------------------------------------- 3. evidence


@dataclass
class Evidence:
    signal: str
    backend: str
    found: bool | None  # None: not expected here (skipped)
    seconds: float | None = None
    link: str = ""
    detail: str = ""


def grafana_explore(config: Config, query: str) -> str:
    panes = {"smoke": {"datasource": "loki", "queries": [{"refId": "A", "expr": query}],
                       "range": {"from": "now-1h", "to": "now"}}}
    compact = json.dumps(panes, separators=(",", ":"))
    return f"{config.grafana_url}/explore?schemaVersion=1&orgId=1&panes={urllib.parse.quote(compact)}"


def sentry_headers(config: Config) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.sentry_token}"}


def find_sentry_error(config: Config, request: Request) -> str:
    """The error event of `request` in Sentry (or Bugsink), carrying its trace id. Returns a link."""
    event_id = request.body.get("event_id")
    if not event_id:
        raise NotYet(f"{request.path} answered without an event id: the app has no SENTRY_DSN")
    if config.errors_api == "bugsink":
        return find_bugsink_error(config, request, event_id)
    url = f"{config.sentry_api_url}/api/0/projects/{config.sentry_org}/{config.sentry_project}/events/{event_id}/"
    try:
        event = http_json(url, sentry_headers(config))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise NotYet(f"event {event_id} not in Sentry yet") from None
        raise
    trace_id = (event.get("contexts") or {}).get("trace", {}).get("trace_id")
    if trace_id != request.trace_id:
        raise NotYet(f"event {event_id} has trace id {trace_id}, not {request.trace_id}")
    group = event.get("groupID")
    issue = f"/issues/{group}/events/{event_id}/" if group else f"/projects/{config.sentry_project}/events/{event_id}/"
    return f"{config.sentry_url}/organizations/{config.sentry_org}{issue}"


def find_bugsink_error(config: Config, request: Request, event_id: str) -> str:
    headers = {"Authorization": f"Bearer {config.bugsink_token}"}
    api = f"{config.bugsink_url}/api/canonical/0"
    for issue in http_json(f"{api}/issues/?project={config.bugsink_project}", headers)["results"]:
        for summary in http_json(f"{api}/events/?issue={issue['id']}", headers)["results"]:
            if summary["event_id"].replace("-", "") == event_id:
                data = http_json(f"{api}/events/{summary['id']}/", headers)["data"]
                trace_id = data.get("contexts", {}).get("trace", {}).get("trace_id")
                if trace_id != request.trace_id:
                    raise NotYet(f"event {event_id} has trace id {trace_id}, not {request.trace_id}")
                return f"{config.bugsink_url}/issues/issue/{issue['id']}/event/{summary['id']}/"
    raise NotYet(f"event {event_id} not in Bugsink yet")


def find_sentry_trace(config: Config, request: Request) -> str:
    """The request's spans in Sentry (ingested over OTLP from the collector)."""
    query = urllib.parse.urlencode({"dataset": "spans", "field": ["id", "trace"], "query": f"trace:{request.trace_id}",
                                    "statsPeriod": "1h", "project": "-1"}, doseq=True)
    found = http_json(f"{config.sentry_api_url}/api/0/organizations/{config.sentry_org}/events/?{query}",
                      sentry_headers(config))
    spans = [row for row in found.get("data", []) if row.get("trace") == request.trace_id]
    if not spans:
        raise NotYet(f"no span of trace {request.trace_id} in Sentry yet")
    return f"{config.sentry_url}/organizations/{config.sentry_org}/performance/trace/{request.trace_id}/"


def find_loki_lines(config: Config, request: Request) -> str:
    query = f'{{service_name="{config.service_name}"}} | trace_id="{request.trace_id}"'
    params = urllib.parse.urlencode({"query": query, "start": int((request.sent_at - 60) * 1e9), "limit": 100})
    streams = http_json(f"{config.loki_url}/loki/api/v1/query_range?{params}")["data"]["result"]
    if not streams:
        raise NotYet(f"no log line with trace_id {request.trace_id} in Loki yet")
    return grafana_explore(config, query)


def prometheus_query(config: Config, query: str) -> list[dict]:
    params = urllib.parse.urlencode({"query": query})
    return http_json(f"{config.prometheus_url}/api/v1/query?{params}")["data"]["result"]


def find_request_metrics(config: Config, request: Request) -> str:
    counted = count_requests(config, request.path)
    if counted <= request.counted_before:
        raise NotYet(f"http_requests_total for {request.path} still {counted:.0f} in Prometheus")
    query = f'http_requests_total{{endpoint="{request.path}"}}'
    return f"{config.prometheus_url}/graph?g0.expr={urllib.parse.quote(query)}"


def find_exemplar(config: Config, request: Request) -> str:
    query = f'traces_span_metrics_duration_milliseconds_bucket{{service_name="{config.service_name}"}}'
    params = urllib.parse.urlencode({"query": query, "start": request.sent_at - 60, "end": time.time() + 60})
    series = http_json(f"{config.prometheus_url}/api/v1/query_exemplars?{params}")["data"]
    trace_ids = {e["labels"].get("trace_id") for s in series for e in s["exemplars"]}
    if request.trace_id not in trace_ids:
        raise NotYet(f"no exemplar with trace id {request.trace_id} yet ({len(trace_ids)} others)")
    return f"{config.grafana_url}/d/flask-app-red"


def grafana_headers(config: Config) -> dict[str, str]:
    credentials = base64.b64encode(f"{config.grafana_user}:{config.grafana_password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def find_grafana_ready(config: Config, request: Request) -> str:
    headers = grafana_headers(config)
    unhealthy = []
    for source in http_json(f"{config.grafana_url}/api/datasources", headers):
        try:
            health = http_json(f"{config.grafana_url}/api/datasources/uid/{source['uid']}/health", headers)
        except urllib.error.HTTPError as error:
            # Grafana answers a failed check with 400 and the datasource's own message.
            try:
                health = json.loads(error.read())
            except ValueError:
                health = {"status": "ERROR", "message": f"HTTP {error.code}"}
        if health.get("status") != "OK":
            unhealthy.append(f"{source['name']}: {health.get('message', health.get('status'))}")
    if unhealthy:
        raise NotYet("datasources not healthy: " + "; ".join(unhealthy))
    found = {d["uid"] for d in http_json(f"{config.grafana_url}/api/search?type=dash-db", headers)}
    if not DASHBOARDS <= found:
        raise NotYet(f"dashboards not provisioned: {sorted(DASHBOARDS - found)}")
    return f"{config.grafana_url}/dashboards"


# ------------------------------------------------------------------------------------------ causes


def likely_cause(config: Config, signal: str, detail: str) -> str:
    """Why a signal is missing, from what the other backends say about the pipeline."""
    def failures(exporter: str) -> float:
        try:
            rows = prometheus_query(config, f'sum(otelcol_exporter_send_failed_spans_total{{exporter="{exporter}"}}'
                                            f' or otelcol_exporter_send_failed_log_records_total{{exporter="{exporter}"}}'
                                            f' or otelcol_exporter_send_failed_metric_points_total{{exporter="{exporter}"}})')
            return float(rows[0]["value"][1]) if rows else 0.0
        except (OSError, ValueError, KeyError):
            return 0.0

    if signal == "logs":
        if not reachable(f"{config.loki_url}/ready"):
            return f"Loki does not answer at {config.loki_url}: is it running? (docker compose ps loki)"
        if failures("otlp_http/loki"):
            return "collector has no route to Loki: its otlp_http/loki exporter fails (docker compose logs otel-collector)"
        return "no log line arrived: is the app's OTEL_EXPORTER_OTLP_ENDPOINT the collector?"
    if signal in ("request metrics", "exemplar"):
        if not reachable(f"{config.prometheus_url}/-/ready"):
            return f"Prometheus does not answer at {config.prometheus_url}"
        if signal == "request metrics":
            return "Prometheus does not scrape the app: see Status > Targets (job app)"
        if failures("otlp_http/prometheus"):
            return "collector has no route to Prometheus: its otlp_http/prometheus exporter fails"
        return "no span metrics with that trace: is tracing on and sampled (TRACING_ENABLED, TRACE_SAMPLE_RATE)?"
    if signal == "trace":
        if failures("otlp_http/sentry"):
            return "collector cannot send traces to Sentry: its otlp_http/sentry exporter fails (key, URL, profile?)"
        return "Sentry has not shown the trace: the collector's Sentry exporter or Relay's OTLP endpoint"
    if signal == "error":
        return "the app's sentry-sdk did not deliver: check SENTRY_DSN and docker compose logs app"
    if signal == "grafana":
        return "Grafana's provisioning: docker compose logs grafana"
    return detail


# --------------------------------------------------------------------------------------------- run


def poll(check: Callable[[Config, Request], str], config: Config, request: Request, deadline: float):
    detail = ""
    while True:
        try:
            return True, time.time() - request.sent_at, check(config, request), ""
        except NotYet as why:
            detail = str(why)
        except (OSError, ValueError, KeyError) as error:
            detail = f"{type(error).__name__}: {error}"
        if time.monotonic() > deadline:
            return False, None, "", detail
        time.sleep(1)


def run(config: Config, out=sys.stdout) -> list[Evidence]:
    print(f"smoke test of the stack at {config.app_url}", file=out)
    down = wait_for_services(config, out)
    if "app" in down:
        return [Evidence("requests", "app", False, detail=f"the app does not answer at {config.app_url}")]

    zero = send(config, "/sentry-test")
    error = send(config, "/error")
    hello = send(config, "/")
    print(f"sent /sentry-test ({zero.status}), /error ({error.status}), / ({hello.status}); "
          f"following trace {error.trace_id}", file=out)

    stand_ins = config.errors_api == "bugsink"
    errors_backend = "Bugsink (stand-in for Sentry)" if stand_ins else "Sentry"
    traces_backend = "Sentry OTLP stand-in" if stand_ins else "Sentry"
    plan = [
        ("error", errors_backend, find_sentry_error, error, "sentry"),
        ("error (ZeroDivisionError)", errors_backend, find_sentry_error, zero, "sentry"),
        ("trace", traces_backend, find_sentry_trace, error, "sentry-traces"),
        ("logs", "Loki", find_loki_lines, error, "loki"),
        ("request metrics", "Prometheus", find_request_metrics, error, "prometheus"),
        ("exemplar", "Prometheus", find_exemplar, error, "prometheus"),
        ("grafana", "Grafana", find_grafana_ready, error, "grafana"),
    ]
    evidence: list[Evidence] = []
    deadline = time.monotonic() + config.timeout
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = []
        for signal, backend, check, request, name in plan:
            if name in config.skip or (name == "sentry-traces" and "errors-only" in config.profile):
                reason = "Sentry profile is errors-only: no traces" if name == "sentry-traces" else "skipped"
                evidence.append(Evidence(signal, backend, None, detail=reason))
                continue
            futures.append((signal, backend, pool.submit(poll, check, config, request, deadline)))
        for signal, backend, future in futures:
            found, seconds, link, detail = future.result()
            if not found:
                detail = f"{likely_cause(config, signal.split(' ')[0], detail)} (last seen: {detail})"
            evidence.append(Evidence(signal, backend, found, seconds, link, detail))
    order = [p[0] for p in plan]
    return sorted(evidence, key=lambda e: order.index(e.signal))


def report(evidence: list[Evidence], out=sys.stdout) -> int:
    print(f"\n{'signal':<26} {'backend':<30} {'found':<6} {'visible after':<14} link / cause", file=out)
    for e in evidence:
        found = "yes" if e.found else ("skip" if e.found is None else "NO")
        seconds = f"{e.seconds:.1f}s" if e.seconds is not None else "-"
        print(f"{e.signal:<26} {e.backend:<30} {found:<6} {seconds:<14} {e.link if e.found else e.detail}", file=out)
    missing = [e for e in evidence if e.found is False]
    if missing:
        print(f"\nMISSING: {', '.join(f'{e.signal} in {e.backend}' for e in missing)}", file=out)
        for e in missing:
            print(f"  - {e.signal}: {e.detail}", file=out)
        return 1
    print("\nEvery signal arrived, under one trace id.", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for each service and signal")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["sentry", "sentry-traces", "loki", "prometheus", "grafana"],
                        help="leave out a backend this stack does not run (repeatable)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    args = parser.parse_args(argv)
    config = Config.load(args.env_file)
    config.skip, config.timeout = set(args.skip), args.timeout
    return report(run(config))


if __name__ == "__main__":
    sys.exit(main())
