"""Sentry and the collector both unreachable: the app still answers every request, quickly."""

import time

from tests.peers.process import free_port


def test_app_keeps_answering_fast_when_sentry_and_collector_are_down(start_app):
    dead = free_port()  # nothing listens here
    app = start_app({"SENTRY_DSN": f"http://0123456789abcdef@127.0.0.1:{dead}/1",
                     "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{dead}",
                     "OTEL_METRIC_EXPORT_INTERVAL_SECONDS": "0.5"})
    latencies = []
    for round_ in range(20):
        for path, expected in (("/", 200), ("/error", 500), ("/sentry-test", 500), ("/health", 200)):
            started = time.monotonic()
            status, body, _ = app.get(path, timeout=5)
            latencies.append(time.monotonic() - started)
            assert status == expected, (path, body)
    latencies.sort()
    # Bound the worst request loosely (this is a hang check, not a benchmark): an export that blocked a
    # request would take the SDKs' connect timeouts and retries, whole seconds.
    assert latencies[-1] < 2.0, f"slowest request took {latencies[-1]:.2f}s"
    assert app.service.running, "gunicorn died"
    assert "Worker exiting" not in app.service.tail(100_000)
