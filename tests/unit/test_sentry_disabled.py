"""With no SENTRY_DSN the app works as usual and opens no connection to anything."""

import socket

import pytest

from stackapp import create_app, telemetry
from stackapp.scrubbing import make_before_send
from stackapp.settings import Settings


@pytest.fixture
def no_network(monkeypatch):
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise ConnectionRefusedError(f"test forbids connecting to {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def test_without_a_dsn_the_app_answers_and_sends_nothing(recorded, no_network):
    settings = Settings(sentry_dsn="", otlp_endpoint="", failure_rate=0.0)
    # No transport given: the SDK itself decides, as in production.
    telemetry.start_sentry(settings)
    client = create_app(settings).test_client()
    assert client.get("/").status_code == 200
    response = client.get("/error")
    assert response.status_code == 500
    body = response.get_json()
    assert body["type"] == "ValueError"
    assert body["trace_id"], "the trace id is still reported without Sentry"
    assert "sentry_event" not in body["links"]
    client.get("/test-message")
    telemetry.sentry_sdk.flush(timeout=1)
    assert no_network == []


def test_before_send_drops_every_event_when_sentry_is_off():
    event = {"message": "hello", "level": "error"}
    assert make_before_send(Settings(sentry_dsn=""))(event, {}) is None
    assert make_before_send(Settings(sentry_dsn="http://k@h/1"))(event, {}) == event
