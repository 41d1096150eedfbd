"""The app's Prometheus metrics (prometheus-client), scraped from /metrics.

Under gunicorn every worker is its own process, so the metrics live in PROMETHEUS_MULTIPROC_DIR and each
scrape merges them with a fresh MultiProcessCollector (gunicorn.conf.py empties the directory at start and
marks dead workers). prometheus-client does not support exemplars in multiprocess mode: exemplars come from
the collector's span metrics instead.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled, by method, route and status code.",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds", "Time to handle an HTTP request, by method and route.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
IN_PROGRESS = Gauge(
    "http_requests_in_progress", "HTTP requests being handled right now.", multiprocess_mode="livesum",
)
ERRORS = Counter("app_errors_total", "Errors the app raised, by exception type.", ["error_type"])


def init_app(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_record)
    app.add_url_rule("/metrics", "metrics", metrics_endpoint)


def _route() -> str:
    # The rule, not the path: /items/<id> is one series, not one per id.
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()
    IN_PROGRESS.inc()


def _record(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        IN_PROGRESS.dec()
        endpoint = _route()
        if endpoint != "/metrics":
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    return response


def count_error(error: BaseException) -> None:
    ERRORS.labels(type(error).__name__).inc()


def metrics_endpoint() -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
