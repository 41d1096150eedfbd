"""All of the app's telemetry, started once per gunicorn worker (gunicorn.conf.py calls start in post_fork).

OpenTelemetry owns the trace: it samples (parent-based, TRACE_SAMPLE_RATE), reads and writes W3C
`traceparent`, and exports traces, metrics and logs over OTLP/HTTP to the collector. Sentry reports errors
straight to Sentry and, through OTLPIntegration, stamps every event with the active OTel trace and span id, so
one trace id finds the error in Sentry, its spans, its log lines in Loki and its exemplars in Prometheus.
Sentry's own tracing stays off (no traces_sample_rate): it would start a second trace with other ids.

Exports run in background threads with bounded queues and timeouts: a backend that is down costs dropped
telemetry, never a blocked or failed request.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.logging import LoggingInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
from sentry_sdk.integrations.otlp import OTLPIntegration
from sentry_sdk.transport import Transport

from .scrubbing import make_before_send
from .settings import Settings

LOG_FORMAT = (
    "%(asctime)s %(levelname)s [%(name)s] [trace_id=%(otelTraceID)s span_id=%(otelSpanID)s] %(message)s"
)
# Chatty or self-referential loggers: kept on stderr, kept out of Sentry breadcrumbs and out of the OTLP log
# pipeline (an exporter logging its own failure through itself would loop).
NOISY_LOGGERS = ("gunicorn.access", "werkzeug", "urllib3", "opentelemetry")


@dataclass
class Telemetry:
    settings: Settings
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    stopped: bool = False

    def shutdown(self) -> None:
        """Flush what is queued, each exporter bounded by the export timeout."""
        if self.stopped:
            return
        self.stopped = True
        timeout_ms = int(self.settings.export_timeout_s * 1000)
        self.tracer_provider.force_flush(timeout_ms)
        self.logger_provider.force_flush(timeout_ms)
        self.meter_provider.force_flush(timeout_ms)
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=timeout_ms)
        sentry_sdk.flush(timeout=self.settings.export_timeout_s)


def start(settings: Settings) -> Telemetry:
    """Start OpenTelemetry and Sentry for this process, exporting where the settings say."""
    telemetry = start_opentelemetry(settings)
    start_sentry(settings)
    return telemetry


def start_opentelemetry(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    log_exporter: LogRecordExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> Telemetry:
    """Set the process's tracer, meter and logger providers (OpenTelemetry allows this once a process).

    The exporter arguments replace the OTLP exporters (the tests pass the SDK's in-memory ones).
    """
    resource = Resource.create(
        {
            "service.name": settings.service_name,
            "service.version": settings.release,
            "service.instance.id": f"{settings.server_name}-{os.getpid()}",
            "deployment.environment.name": settings.environment,
        }
    )
    timeout_s = settings.export_timeout_s

    tracer_provider = TracerProvider(resource=resource, sampler=sampler(settings))
    span_exporter = span_exporter or _otlp(settings, OTLPSpanExporter, "traces")
    if span_exporter is not None:
        # Every second rather than the SDK's 5 s: a demo's trace should be in Sentry by the time you look.
        tracer_provider.add_span_processor(
            BatchSpanProcessor(span_exporter, schedule_delay_millis=1000, export_timeout_millis=timeout_s * 1000)
        )
    trace.set_tracer_provider(tracer_provider)

    readers = []
    if metric_reader is not None:
        readers.append(metric_reader)
    elif settings.otlp_enabled:
        readers.append(
            PeriodicExportingMetricReader(
                _otlp(settings, OTLPMetricExporter, "metrics"),
                export_interval_millis=settings.metrics_export_interval_s * 1000,
                export_timeout_millis=timeout_s * 1000,
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    metrics.set_meter_provider(meter_provider)

    logger_provider = LoggerProvider(resource=resource)
    log_exporter = log_exporter or _otlp(settings, OTLPLogExporter, "logs")
    if log_exporter is not None:
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(log_exporter, export_timeout_millis=timeout_s * 1000)
        )
    _logs.set_logger_provider(logger_provider)
    _configure_logging(tracer_provider)

    return Telemetry(
        settings=settings,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )


def sampler(settings: Settings) -> Sampler:
    if not settings.tracing_enabled:
        return ALWAYS_OFF
    # Parent-based: a caller's sampling decision in `traceparent` wins, so a trace is kept or dropped whole.
    return ParentBased(root=TraceIdRatioBased(settings.trace_sample_rate))


def _otlp(settings: Settings, exporter_class, signal: str):
    if not settings.otlp_enabled:
        return None
    return exporter_class(endpoint=f"{settings.otlp_endpoint.rstrip('/')}/v1/{signal}",
                          timeout=settings.export_timeout_s)


class _KeepOutOfOtlp(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(NOISY_LOGGERS)


def _configure_logging(tracer_provider: TracerProvider) -> None:
    instrumentor = LoggingInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    # Adds trace_id/span_id to every record, and a handler that ships records to the global LoggerProvider.
    instrumentor.instrument(tracer_provider=tracer_provider, inject_trace_context=True)
    otlp_handler = LoggingInstrumentor._logging_handler
    if otlp_handler is not None:
        otlp_handler.addFilter(_KeepOutOfOtlp())

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = next((h for h in root.handlers if getattr(h, "name", "") == "stackapp-console"), None)
    if console is None:
        console = logging.StreamHandler(sys.stdout)
        console.name = "stackapp-console"
        root.addHandler(console)
    console.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def start_sentry(settings: Settings, transport: type[Transport] | Transport | None = None) -> None:
    """Start (or restart with new settings) the Sentry client; the tests pass a transport that records."""
    for name in NOISY_LOGGERS:
        ignore_logger(name)
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=settings.sentry_dsn or None,
        environment=settings.environment,
        release=settings.release,
        server_name=settings.server_name,
        integrations=[
            FlaskIntegration(transaction_style="url"),
            # Log records become breadcrumbs; errors are captured once, as exceptions, not again as logs.
            LoggingIntegration(level=logging.INFO, event_level=None),
            # The app owns the TracerProvider and the W3C propagator; Sentry only reads the active span.
            OTLPIntegration(setup_otlp_traces_exporter=False, setup_propagator=False),
        ],
        before_send=make_before_send(settings),
        max_breadcrumbs=50,
        shutdown_timeout=settings.export_timeout_s,
        **options,
    )
