"""Where a request's telemetry went: its trace id and span id, the Sentry event id, and links to open them.

Every error response carries this, so a user who curls /error can go straight to the error in Sentry, the
trace in Sentry, and the request's log lines in Grafana.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from opentelemetry import trace

from .settings import Settings


def current_trace() -> dict[str, object]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {"trace_id": None, "span_id": None, "sampled": False}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
        "sampled": context.trace_flags.sampled,
    }


def evidence(settings: Settings, event_id: str | None) -> dict[str, object]:
    ids = current_trace()
    trace_id = ids["trace_id"]
    links: dict[str, str] = {}
    if event_id and settings.sentry_enabled:
        links["sentry_event"] = (
            f"{settings.sentry_url}/organizations/{settings.sentry_org}/projects/{settings.sentry_project}"
            f"/events/{event_id}/"
        )
    if trace_id:
        links["sentry_trace"] = f"{settings.sentry_url}/organizations/{settings.sentry_org}/performance/trace/{trace_id}/"
        links["grafana_logs"] = grafana_logs_link(settings, str(trace_id))
    return {"event_id": event_id, **ids, "links": links}


def grafana_logs_link(settings: Settings, trace_id: str) -> str:
    """Grafana Explore on the Loki datasource, filtered to this trace's log lines."""
    query = f'{{service_name="{settings.service_name}"}} | trace_id="{trace_id}"'
    panes = {
        "logs": {
            "datasource": "loki",
            "queries": [{"refId": "A", "datasource": {"type": "loki", "uid": "loki"}, "expr": query}],
            "range": {"from": "now-1h", "to": "now"},
        }
    }
    return f"{settings.grafana_url}/explore?schemaVersion=1&orgId=1&panes={quote(json.dumps(panes, separators=(',', ':')))}"
