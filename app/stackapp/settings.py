"""The app's settings: read once from the environment, typed, and checked before anything starts.

A bad value stops the app with one line that names the setting, instead of a stack trace from deep inside
an SDK (or, worse, telemetry that silently goes nowhere).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

PACKAGE_VERSION = "1.0.0"


class SettingsError(ValueError):
    """A setting has a value the app cannot run with. The message names the setting."""


@dataclass(frozen=True)
class Settings:
    service_name: str = "flask-app"
    environment: str = "development"
    release: str = f"stackapp@{PACKAGE_VERSION}"
    # Empty: errors are not reported, the app runs as usual.
    sentry_dsn: str = ""
    tracing_enabled: bool = True
    trace_sample_rate: float = 1.0
    # Base URL of the collector's OTLP/HTTP receiver; empty turns OTLP export off.
    otlp_endpoint: str = "http://otel-collector:4318"
    # Telemetry waits at most this long at worker exit; a dead collector must not hold up a restart.
    export_timeout_s: float = 5.0
    metrics_export_interval_s: float = 5.0
    # How often `/` fails on purpose, so dashboards and alerts have errors to show.
    failure_rate: float = 0.1
    # Where a person opens what the app reported (links in error responses).
    sentry_url: str = "http://localhost:9000"
    sentry_org: str = "sentry"
    sentry_project: str = "flask-app"
    grafana_url: str = "http://localhost:3000"
    server_name: str = field(default_factory=lambda: os.uname().nodename)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        defaults = cls()

        def text(name: str, default: str, *aliases: str) -> str:
            for key in (name, *aliases):
                value = env.get(key, "").strip()
                if value:
                    return value
            return default

        return cls(
            service_name=text("OTEL_SERVICE_NAME", defaults.service_name),
            environment=text("SENTRY_ENVIRONMENT", defaults.environment, "ENVIRONMENT"),
            release=text("SENTRY_RELEASE", default_release(env)),
            sentry_dsn=_dsn("SENTRY_DSN", env.get("SENTRY_DSN", "").strip()),
            tracing_enabled=_boolean("TRACING_ENABLED", env.get("TRACING_ENABLED"), defaults.tracing_enabled),
            trace_sample_rate=_fraction("TRACE_SAMPLE_RATE", env.get("TRACE_SAMPLE_RATE"),
                                        defaults.trace_sample_rate),
            otlp_endpoint=_url("OTEL_EXPORTER_OTLP_ENDPOINT",
                               env.get("OTEL_EXPORTER_OTLP_ENDPOINT", defaults.otlp_endpoint).strip(),
                               allow_empty=True),
            export_timeout_s=_positive("OTEL_EXPORT_TIMEOUT_SECONDS", env.get("OTEL_EXPORT_TIMEOUT_SECONDS"),
                                       defaults.export_timeout_s),
            metrics_export_interval_s=_positive("OTEL_METRIC_EXPORT_INTERVAL_SECONDS",
                                                env.get("OTEL_METRIC_EXPORT_INTERVAL_SECONDS"),
                                                defaults.metrics_export_interval_s),
            failure_rate=_fraction("FAILURE_RATE", env.get("FAILURE_RATE"), defaults.failure_rate),
            sentry_url=_url("SENTRY_URL", text("SENTRY_URL", defaults.sentry_url)).rstrip("/"),
            sentry_org=text("SENTRY_ORG", defaults.sentry_org),
            sentry_project=text("SENTRY_PROJECT", defaults.sentry_project),
            grafana_url=_url("GRAFANA_URL", text("GRAFANA_URL", defaults.grafana_url)).rstrip("/"),
            server_name=text("SERVER_NAME", defaults.server_name),
        )

    @property
    def sentry_enabled(self) -> bool:
        return bool(self.sentry_dsn)

    @property
    def otlp_enabled(self) -> bool:
        return bool(self.otlp_endpoint)


def default_release(env: Mapping[str, str]) -> str:
    """The git commit the image was built from (a build argument), else the package version."""
    return env.get("APP_GIT_COMMIT", "").strip() or f"stackapp@{PACKAGE_VERSION}"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _boolean(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r}: expected one of true/false, 1/0, yes/no, on/off")


def _number(name: str, raw: str | None, default: float) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: not a number") from None


def _fraction(name: str, raw: str | None, default: float) -> float:
    value = _number(name, raw, default)
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name}={raw!r}: must be between 0 and 1 (a fraction, not a percentage)")
    return value


def _positive(name: str, raw: str | None, default: float) -> float:
    value = _number(name, raw, default)
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be greater than 0")
    return value


def _url(name: str, value: str, allow_empty: bool = False) -> str:
    if not value and allow_empty:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name}={value!r}: expected an http(s) URL such as http://host:port")
    try:
        parts.port
    except ValueError:
        raise SettingsError(f"{name}={value!r}: the port is not a number") from None
    return value


_PROJECT_ID = re.compile(r"^/(?:.*/)?\d+/?$")


def _dsn(name: str, value: str) -> str:
    """A Sentry DSN: http(s)://<public key>@<host>[:port]/<project id>."""
    if not value:
        return value
    _url(name, value)
    parts = urlsplit(value)
    if not parts.username:
        raise SettingsError(f"{name}={value!r}: missing the public key (http://<key>@host/<project id>)")
    if not _PROJECT_ID.match(parts.path):
        raise SettingsError(f"{name}={value!r}: missing the project id at the end (http://<key>@host/<project id>)")
    return value
