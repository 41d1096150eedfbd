"""Error responses: JSON that says what failed and where to find it (Sentry event, trace, logs)."""

from __future__ import annotations

import sentry_sdk
from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from . import metrics
from .evidence import evidence


def init_app(app: Flask) -> None:
    app.register_error_handler(InternalServerError, unhandled_error)
    app.register_error_handler(HTTPException, http_error)


def unhandled_error(error: InternalServerError):
    # Flask has already logged the traceback (with the trace id) and sent got_request_exception, which
    # Sentry's Flask integration turned into an event.
    original = error.original_exception or error
    metrics.count_error(original)
    body = {
        "error": str(original),
        "type": type(original).__name__,
        "status": 500,
        **evidence(current_app.config["SETTINGS"], sentry_sdk.last_event_id()),
    }
    return jsonify(body), 500


def http_error(error: HTTPException):
    # 4xx are the client's doing: answered as JSON, not reported to Sentry.
    return jsonify(error=error.description, status=error.code), error.code
