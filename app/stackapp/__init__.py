"""A small Flask app that reports to self-hosted Sentry and sends OpenTelemetry to the collector."""

from __future__ import annotations

import os

import sentry_sdk
from flask import Flask, Response, request
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .settings import Settings, SettingsError

__all__ = ["create_app", "Settings", "SettingsError"]

# The stable HTTP semantic conventions (http.request.method, http.route, http.response.status_code and the
# http.server.request.duration metric): the collector's span_metrics dimensions and the dashboards use them.
# Read once, when the Flask instrumentation first instruments an app.
os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")

# Health checks and scrapes arrive every few seconds: tracing them would bury the requests that matter.
UNTRACED_URLS = "health,ready,metrics"


def create_app(settings: Settings) -> Flask:
    # Imported here, as in Flask's tutorial: the metrics module creates prometheus-client's multiprocess files
    # on import, which must happen in a worker, not in the gunicorn master that reads settings.
    from . import errors, metrics, routes

    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False
    FlaskInstrumentor().instrument_app(app, excluded_urls=UNTRACED_URLS)
    metrics.init_app(app)
    app.before_request(_identify_user)
    app.register_blueprint(routes.bp)
    errors.init_app(app)
    app.after_request(_traceresponse)
    return app


def _identify_user() -> None:
    # Who hit the error, as the caller says (no IP address or cookie: send_default_pii stays off).
    sentry_sdk.set_user({"id": request.headers.get("X-User-Id", "anonymous")})


def _traceresponse(response: Response) -> Response:
    # W3C Trace Context's response header: `curl -i` shows which trace a request landed in.
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    if "traceparent" in carrier:
        response.headers["traceresponse"] = carrier["traceparent"]
    return response
