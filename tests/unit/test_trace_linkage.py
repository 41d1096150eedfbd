"""One request, one trace id: on the Sentry event, on the OTel server span, and on every log record."""

from opentelemetry import trace

PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{PARENT_TRACE}-00f067aa0ba902b7-01"


def _hex(trace_id: int) -> str:
    return trace.format_trace_id(trace_id)


def _assert_one_trace_id(recorded, route: str, body: dict) -> str:
    server = recorded.server_span(route)
    span_trace = _hex(server.context.trace_id)
    [event] = recorded.events
    assert event["contexts"]["trace"]["trace_id"] == span_trace
    assert event["contexts"]["trace"]["span_id"] == trace.format_span_id(server.context.span_id)
    request_logs = [r for r in recorded.logs if r.trace_id == server.context.trace_id]
    assert request_logs, "no log record of the request carries its trace id"
    assert body["trace_id"] == span_trace
    return span_trace


def test_error_event_carries_the_request_trace_id(client, recorded):
    body = client.get("/error").get_json()
    _assert_one_trace_id(recorded, "/error", body)


def test_error_event_carries_the_incoming_traceparent_trace_id(client, recorded):
    body = client.get("/sentry-test", headers={"traceparent": TRACEPARENT}).get_json()
    assert _assert_one_trace_id(recorded, "/sentry-test", body) == PARENT_TRACE
    server = recorded.server_span("/sentry-test")
    assert trace.format_span_id(server.parent.span_id) == "00f067aa0ba902b7"


def test_log_lines_of_a_request_carry_its_trace_and_span_id(client, recorded):
    client.get("/", headers={"traceparent": TRACEPARENT})
    [record] = [r for r in recorded.logs if r.body == "said hello"]
    assert _hex(record.trace_id) == PARENT_TRACE
    assert record.span_id == recorded.server_span("/").context.span_id


def test_responses_carry_a_w3c_traceresponse(client):
    response = client.get("/trace", headers={"traceparent": TRACEPARENT})
    version, trace_id, span_id, flags = response.headers["traceresponse"].split("-")
    assert (version, trace_id, flags) == ("00", PARENT_TRACE, "01")
    assert span_id == response.get_json()["span_id"]


def test_an_unsampled_caller_keeps_its_trace_unsampled(client, recorded):
    body = client.get("/trace", headers={"traceparent": f"00-{PARENT_TRACE}-00f067aa0ba902b7-00"}).get_json()
    assert body == {**body, "trace_id": PARENT_TRACE, "sampled": False}
    assert not [s for s in recorded.spans if _hex(s.context.trace_id) == PARENT_TRACE]
