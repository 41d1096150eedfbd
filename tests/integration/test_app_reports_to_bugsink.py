"""The app under real gunicorn delivers real events to a real Sentry-protocol server.

Bugsink stands in for self-hosted Sentry here (Sentry needs Docker): same SDK, same envelope endpoint, same
DSN authentication. The events are read back through Bugsink's own API.
"""

import time

TRACEPARENT_TRACE = "5a8b0a1c2d3e4f5061728394a5b6c7d8"


def _wait_for_events(bugsink, project_id, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = bugsink.events(project_id)
        if len(events) >= count:
            return events
        time.sleep(0.5)
    raise AssertionError(f"Bugsink has {len(bugsink.events(project_id))} events, expected {count}")


def test_sentry_test_and_error_arrive_in_bugsink_with_release_environment_tags_and_trace(bugsink, start_app):
    project = bugsink.create_project("flask-app-delivery")
    app = start_app({"SENTRY_DSN": project["dsn"], "SENTRY_ENVIRONMENT": "ci", "SENTRY_RELEASE": "stackapp@ci-1",
                     "OTEL_EXPORTER_OTLP_ENDPOINT": ""})

    status, zero, _ = app.get("/sentry-test")
    assert status == 500
    status, value, _ = app.get("/error", headers={"traceparent": f"00-{TRACEPARENT_TRACE}-1112131415161718-01"})
    assert status == 500

    events = {e["data"]["exception"]["values"][-1]["type"]: e["data"] for e in _wait_for_events(bugsink, project["id"], 2)}
    assert set(events) == {"ZeroDivisionError", "ValueError"}
    for event in events.values():
        assert event["release"] == "stackapp@ci-1"
        assert event["environment"] == "ci"
        assert event["server_name"] == "integration-test"

    assert events["ZeroDivisionError"]["event_id"] == zero["event_id"]
    assert events["ZeroDivisionError"]["contexts"]["trace"]["trace_id"] == zero["trace_id"]

    error = events["ValueError"]
    assert error["event_id"] == value["event_id"]
    assert error["contexts"]["trace"]["trace_id"] == TRACEPARENT_TRACE
    assert error["tags"]["endpoint"] == "/error"
    assert error["tags"]["error_type"] == "ValueError"
    assert error["contexts"]["error_details"]["error_type"] == "ValueError"
