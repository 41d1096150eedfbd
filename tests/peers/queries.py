"""Reading a backend through its own HTTP API: JSON, Loki log streams, Prometheus series."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request


def get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
        return json.loads(response.read())


def loki_streams(loki_url: str, query: str, since_seconds: float = 900) -> list[dict]:
    """Loki's streams for a LogQL query over the last `since_seconds` (structured metadata in `stream`)."""
    params = urllib.parse.urlencode({"query": query, "start": int((time.time() - since_seconds) * 1e9),
                                     "end": int((time.time() + 60) * 1e9), "limit": 5000})
    return get_json(f"{loki_url}/loki/api/v1/query_range?{params}")["data"]["result"]


def loki_line_count(loki_url: str, query: str) -> int:
    return sum(len(stream["values"]) for stream in loki_streams(loki_url, query))


def prometheus_query(prometheus_url: str, query: str) -> list[dict]:
    params = urllib.parse.urlencode({"query": query})
    return get_json(f"{prometheus_url}/api/v1/query?{params}")["data"]["result"]


def exemplar_trace_ids(prometheus_url: str, query: str, since_seconds: float = 900) -> set[str]:
    params = urllib.parse.urlencode({"query": query, "start": time.time() - since_seconds, "end": time.time() + 60})
    series = get_json(f"{prometheus_url}/api/v1/query_exemplars?{params}")["data"]
    return {e["labels"].get("trace_id") for s in series for e in s["exemplars"]}
