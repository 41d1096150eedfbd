import re

from stackapp import create_app

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_health_and_ready_answer(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready").get_json()
    assert ready["status"] == "ready"
    assert ready["sentry"] == "enabled"


def test_index_says_hello_with_its_trace_id(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Hello" in response.get_json()["message"]
    assert HEX32.match(response.get_json()["trace_id"])


def test_index_fails_on_purpose_at_the_configured_rate(recorded, settings):
    always = create_app(settings.__class__(**{**settings.__dict__, "failure_rate": 1.0})).test_client()
    response = always.get("/")
    assert response.status_code == 500
    assert response.get_json()["type"] == "SimulatedError"
    assert [e["exception"]["values"][-1]["type"] for e in recorded.events] == ["SimulatedError"]


def test_sentry_test_raises_zero_division_and_reports_it(client, recorded):
    response = client.get("/sentry-test")
    body = response.get_json()
    assert response.status_code == 500
    assert body["type"] == "ZeroDivisionError"
    [event] = recorded.events
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["event_id"] == body["event_id"]


def test_error_raises_value_error_with_tags_and_context(client, recorded):
    response = client.get("/error")
    assert response.status_code == 500
    assert response.get_json()["type"] == "ValueError"
    [event] = recorded.events
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["tags"]["endpoint"] == "/error"
    assert event["tags"]["error_type"] == "ValueError"
    assert event["contexts"]["error_details"]["endpoint"] == "/error"
    assert event["release"] == "stackapp@test"
    assert event["environment"] == "test"
    assert event["server_name"] == "test-host"
    crumbs = [crumb.get("message") for crumb in event["breadcrumbs"]["values"]]
    assert "validating input" in crumbs and "input failed validation" in crumbs


def test_events_name_the_user_the_caller_gives(client, recorded):
    client.get("/error", headers={"X-User-Id": "user-42"})
    client.get("/sentry-test")
    assert [e["user"]["id"] for e in recorded.events] == ["user-42", "anonymous"]
    assert all("ip_address" not in e["user"] for e in recorded.events)


def test_error_responses_carry_event_id_trace_id_and_links(client, recorded, settings):
    body = client.get("/error").get_json()
    assert re.match(r"^[0-9a-f]{32}$", body["event_id"])
    assert HEX32.match(body["trace_id"])
    links = body["links"]
    assert links["sentry_event"] == (
        f"{settings.sentry_url}/organizations/sentry/projects/flask-app/events/{body['event_id']}/")
    assert body["trace_id"] in links["sentry_trace"]
    assert links["grafana_logs"].startswith(f"{settings.grafana_url}/explore?")
    assert body["trace_id"] in links["grafana_logs"]


def test_test_message_sends_a_sentry_message(client, recorded):
    body = client.get("/test-message").get_json()
    [event] = recorded.events
    assert event["message"] == "Test message from the observability stack" or \
        event["logentry"]["message"] == "Test message from the observability stack"
    assert body["event_id"] == event["event_id"]


def test_test_performance_makes_nested_spans_under_the_request(client, recorded):
    body = client.get("/test-performance").get_json()
    server = recorded.server_span("/test-performance")
    children = {s.name: s for s in recorded.spans if s.parent and s.parent.span_id == server.context.span_id}
    assert set(children) == {"db.query", "GET external-api", "process.results"}
    assert children["db.query"].attributes["db.system.name"] == "postgresql"
    assert set(body["timings"]) == {"db_ms", "external_ms", "processing_ms"}


def test_trace_reports_the_trace_and_sampling_decision(client):
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body = client.get("/trace", headers={"traceparent": parent}).get_json()
    assert body["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert body["sampled"] is True
    assert body["traceparent_received"] == parent


def test_metrics_counts_requests_by_route_and_status(client):
    client.get("/health")
    client.get("/error")
    text = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'http_requests_total\{endpoint="/error",method="GET",status="500"\} [1-9]', text)
    assert re.search(r'app_errors_total\{error_type="ValueError"\} [1-9]', text)
    assert "http_request_duration_seconds_bucket" in text


def test_unknown_paths_get_json_404_and_no_sentry_event(client, recorded):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    assert recorded.events == []
