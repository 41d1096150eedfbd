"""End to end on 127.0.0.1: the app's traffic reaches every backend, found through each backend's own API.

Real programs: the app under gunicorn, the OpenTelemetry Collector built from our config's components,
Prometheus 3, Loki 3 and Bugsink. Stand-in: the Sentry OTLP endpoint (tests/peers/sentry_otlp.py), which
checks the collector's requests as Relay would and decodes them, but is not Sentry.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import AppServer, eventually
from tests.peers.queries import exemplar_trace_ids, get_json, loki_streams, prometheus_query

ERROR_TRACE = secrets.token_hex(16)
ZERO_TRACE = secrets.token_hex(16)


def traceparent(trace_id: str) -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


@pytest.fixture(scope="module")
def stack(loopback_stack):
    return loopback_stack


@pytest.fixture(scope="module")
def traffic(stack):
    """A few kinds of request, two of them with a trace id chosen by the test."""
    app = AppServer(stack.app_url, stack.services["app"])
    answers = {
        "error": app.get("/error", headers=traceparent(ERROR_TRACE)),
        "sentry-test": app.get("/sentry-test", headers=traceparent(ZERO_TRACE)),
    }
    for _ in range(10):
        app.get("/")
        app.get("/test-performance")
    assert answers["error"][0] == 500 and answers["sentry-test"][0] == 500
    return answers


def loki_query(stack, query: str) -> list[dict]:
    return loki_streams(stack.url("loki"), query)


def prom_query(stack, query: str) -> list[dict]:
    return prometheus_query(stack.url("prometheus"), query)


def test_loki_has_the_request_log_lines_with_their_trace_id(stack, traffic):
    streams = eventually(lambda: loki_query(stack, f'{{service_name="flask-app"}} | trace_id="{ERROR_TRACE}"'),
                         timeout=60, what="the /error request's log lines in Loki")
    lines = [line for stream in streams for _, line in stream["values"]]
    assert any("input failed validation" in line for line in lines), lines
    # The traceback travels as OTel exception attributes, which Loki keeps as structured metadata.
    assert loki_query(stack, f'{{service_name="flask-app"}} | trace_id="{ERROR_TRACE}" | exception_type="ValueError"'), \
        "the error's log record with its exception is missing"
    labels = streams[0]["stream"]
    assert labels["service_name"] == "flask-app"
    assert labels["deployment_environment_name"] == "loopback"


def test_prometheus_has_the_app_counter_and_span_metrics_with_an_exemplar_of_the_trace(stack, traffic):
    scraped = eventually(lambda: prom_query(stack, 'http_requests_total{job="app",endpoint="/error",status="500"}'),
                         timeout=60, what="the app's scraped request counter")
    assert float(scraped[0]["value"][1]) >= 1
    span_series = eventually(lambda: prom_query(
        stack, 'traces_span_metrics_calls_total{service_name="flask-app",http_route="/error"}'),
        timeout=60, what="span metrics for /error")
    assert span_series[0]["metric"]["status_code"] == "STATUS_CODE_ERROR"

    def exemplar_of_the_trace():
        return ERROR_TRACE in exemplar_trace_ids(
            stack.url("prometheus"), 'traces_span_metrics_duration_milliseconds_bucket{service_name="flask-app"}')

    eventually(exemplar_of_the_trace, timeout=60, what=f"an exemplar with trace id {ERROR_TRACE}")


def test_the_sentry_otlp_stand_in_received_the_request_spans(stack, traffic):
    eventually(lambda: {ERROR_TRACE, ZERO_TRACE} <= stack.sentry_otlp.trace_ids(), timeout=30,
               what="both traces at the Sentry OTLP endpoint")
    [server] = [s for s in stack.sentry_otlp.spans if s.trace_id == ERROR_TRACE and s.name == "GET /error"]
    assert server.service_name == "flask-app"
    assert stack.sentry_otlp.rejected == []


def test_bugsink_has_the_errors_with_their_trace_ids(stack, traffic, bugsink):
    def traces_by_type():
        events = bugsink.events(stack.project["id"])
        return {e["data"]["exception"]["values"][-1]["type"]: e["data"]["contexts"]["trace"]["trace_id"]
                for e in events} if len(events) >= 2 else None

    found = eventually(traces_by_type, timeout=30, what="both error events in Bugsink")
    assert found == {"ValueError": ERROR_TRACE, "ZeroDivisionError": ZERO_TRACE}
    assert traffic["error"][1]["trace_id"] == ERROR_TRACE


def test_the_collector_reports_no_failed_sends(stack, traffic):
    # After the other tests have waited for data to arrive everywhere.
    eventually(lambda: ERROR_TRACE in stack.sentry_otlp.trace_ids(), timeout=30, what="spans delivered")
    text = eventually(lambda: _collector_metrics(stack), timeout=30, what="the collector's own metrics")
    sent = _sum_by_exporter(text, r"otelcol_exporter_sent_(spans|metric_points|log_records)(_total)?")
    failed = _sum_by_exporter(text, r"otelcol_exporter_send_failed_(spans|metric_points|log_records)(_total)?")
    assert set(sent) == {"otlp_http/sentry", "otlp_http/prometheus", "otlp_http/loki"}, sent
    assert all(count > 0 for count in sent.values()), sent
    assert sum(failed.values()) == 0, failed


def _collector_metrics(stack) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{stack.url('collector_metrics')}/metrics", timeout=5) as response:
        text = response.read().decode()
    return text if "otelcol_exporter_sent_log_records" in text else ""


def _sum_by_exporter(text: str, name_pattern: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(rf"^(?:{name_pattern})\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)", line)
        if match:
            exporter = re.search(r'exporter="([^"]+)"', match["labels"])[1]
            totals[exporter] = totals.get(exporter, 0.0) + float(match["value"])
    return totals


DASHBOARDS = sorted((Path(__file__).resolve().parents[2] / "grafana" / "dashboards").glob("*.json"))
# What Grafana would put in place of its variables (each dashboard's defaults; trace_id empty = all lines).
VARIABLES = {"$__rate_interval": "1m", "$__auto": "1m", "$service": "flask-app", "$trace_id": ""}


def panel_queries():
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                yield f"{path.stem} / {panel['title']} / {target['refId']}", target["datasource"]["uid"], target["expr"]


def _substitute(expr: str) -> str:
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    return expr


def _panel_has_data(stack, uid: str, expr: str) -> bool:
    start, end = time.time() - 600, time.time()
    if uid == "prometheus":
        params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": "15"})
        return bool(get_json(f"{stack.url('prometheus')}/api/v1/query_range?{params}")["data"]["result"])
    params = urllib.parse.urlencode({"query": expr, "start": int(start * 1e9), "end": int(end * 1e9), "step": "15"})
    return bool(get_json(f"{stack.url('loki')}/loki/api/v1/query_range?{params}")["data"]["result"])


def test_every_dashboard_panel_query_returns_data(stack, traffic):
    queries = list(panel_queries())
    assert len(queries) > 20, "the dashboards have lost their panels"
    assert {uid for _, uid, _ in queries} == {"prometheus", "loki"}

    def empty_panels():
        return [name for name, uid, expr in queries if not _panel_has_data(stack, uid, _substitute(expr))]

    # Rates need two scrapes after the traffic: wait until every panel shows data, or say which do not.
    deadline = time.monotonic() + 90
    missing = empty_panels()
    while missing and time.monotonic() < deadline:
        time.sleep(5)
        missing = empty_panels()
    assert missing == [], f"panels that show no data after real traffic: {missing}"


def test_the_service_variable_offers_the_app(stack, traffic):
    values = get_json(f"{stack.url('prometheus')}/api/v1/label/service_name/values?"
                      + urllib.parse.urlencode({"match[]": "traces_span_metrics_calls_total"}))["data"]
    assert "flask-app" in values
