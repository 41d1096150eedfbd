"""The endpoints users curl. Kept thin: telemetry is set up elsewhere and errors are answered in errors.py."""

from __future__ import annotations

import logging
import random
import time

import sentry_sdk
from flask import Blueprint, current_app, jsonify, request
from opentelemetry import trace

from .evidence import current_trace, evidence

bp = Blueprint("routes", __name__)
log = logging.getLogger("stackapp")
tracer = trace.get_tracer("stackapp")


class SimulatedError(RuntimeError):
    """The failure `/` produces on purpose, so there are errors to see."""


def _settings():
    return current_app.config["SETTINGS"]


@bp.get("/")
def index():
    if random.random() < _settings().failure_rate:
        raise SimulatedError("simulated failure: the dice said so")
    log.info("said hello")
    return jsonify(message="Hello from the observability stack", **current_trace())


@bp.get("/sentry-test")
def sentry_test():
    log.info("about to divide by zero on purpose")
    return jsonify(result=1 / 0)


@bp.get("/error")
def error():
    sentry_sdk.set_tag("endpoint", "/error")
    sentry_sdk.set_tag("error_type", "ValueError")
    sentry_sdk.set_context("error_details", {"endpoint": "/error", "error_type": "ValueError",
                                             "description": "raised on purpose to show error reporting"})
    sentry_sdk.add_breadcrumb(category="demo", message="validating input", level="info")
    log.warning("input failed validation")
    raise ValueError("invalid input: this error is raised on purpose")


@bp.get("/health")
def health():
    return jsonify(status="ok")


@bp.get("/ready")
def ready():
    settings = _settings()
    return jsonify(
        status="ready",
        sentry="enabled" if settings.sentry_enabled else "disabled",
        otlp_endpoint=settings.otlp_endpoint or None,
        tracing="enabled" if settings.tracing_enabled else "disabled",
    )


@bp.get("/test-message")
def test_message():
    event_id = sentry_sdk.capture_message("Test message from the observability stack", level="info")
    log.info("sent a test message to Sentry")
    return jsonify(message="sent", **evidence(_settings(), event_id))


@bp.get("/test-performance")
def test_performance():
    timings = {}
    with tracer.start_as_current_span("db.query", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("db.system.name", "postgresql")
        span.set_attribute("db.query.text", "SELECT id, name FROM users WHERE active = true")
        timings["db_ms"] = _work(0.02, 0.05)
    with tracer.start_as_current_span("GET external-api", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("url.full", "https://api.example.com/v1/items")
        timings["external_ms"] = _work(0.03, 0.08)
    with tracer.start_as_current_span("process.results") as span:
        span.set_attribute("items", 42)
        timings["processing_ms"] = _work(0.01, 0.03)
    log.info("performance test done in %.0f ms", sum(timings.values()))
    return jsonify(timings=timings, **current_trace())


@bp.get("/trace")
def trace_info():
    return jsonify(traceparent_received=request.headers.get("traceparent"), **current_trace())


def _work(low: float, high: float) -> float:
    seconds = random.uniform(low, high)
    time.sleep(seconds)
    return round(seconds * 1000, 1)
