"""Faults, on a loopback stack of its own: bad input, a backend restarted under traffic, backends gone.

Bounded in time; every request goes to 127.0.0.1. The stack's Bugsink is this module's own, so the last
test can stop it.
"""

from __future__ import annotations

import secrets
import socket
import statistics
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import AppServer, eventually
from tests.peers.bugsink import Bugsink
from tests.peers.process import family, memory_mb
from tests.peers.queries import loki_line_count
from tests.peers.stack import LoopbackStack


@pytest.fixture(scope="module")
def stack(binaries, tmp_path_factory):
    bugsink = Bugsink(tmp_path_factory.mktemp("fault-bugsink")).start()
    running = LoopbackStack(tmp_path_factory.mktemp("fault-stack"), binaries, bugsink).start()
    yield running
    running.stop()
    bugsink.stop()


@pytest.fixture(scope="module")
def app(stack) -> AppServer:
    return AppServer(stack.app_url, stack.services["app"])


def traced_requests(app: AppServer, count: int, prefix: str, path: str = "/") -> list[str]:
    """`count` requests whose trace ids all start with `prefix`, so Loki can count them in one query."""
    trace_ids = [prefix + secrets.token_hex(16 - len(prefix) // 2) for _ in range(count)]
    for trace_id in trace_ids:
        status, _, _ = app.get(path, headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
        assert status == 200
    return trace_ids


def said_hello_count(stack, prefix: str) -> int:
    return loki_line_count(stack.url("loki"), f'{{service_name="flask-app"}} |= "said hello" | trace_id=~"{prefix}.*"')


# --------------------------------------------------------------------------------------------- bad input


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_malformed_otlp_is_rejected_and_the_collector_keeps_serving(stack):
    otlp = stack.url("otlp_http")
    for body, content_type in ((b"\x00\xffnot protobuf\x12\x34", "application/x-protobuf"),
                               (b'{"resourceSpans": [{"scopeSpans": 7}]}', "application/json"),
                               (b"{{{{", "application/json")):
        assert post(f"{otlp}/v1/traces", body, {"Content-Type": content_type}) == 400
    assert post(f"{otlp}/v1/logs", b"x" * 100, {"Content-Type": "text/plain"}) == 415
    assert stack.services["otelcol"].running
    assert post(f"{otlp}/v1/traces", b"{}", {"Content-Type": "application/json"}) == 200


def raw_http(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return sock.recv(200)


def test_junk_from_clients_gets_4xx_or_is_ignored_never_a_500(stack, app):
    for traceparent in ("garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01", "ff-zz-yy-xx", "00-" + "a" * 500):
        status, body, _ = app.get("/trace", headers={"traceparent": traceparent})
        assert status == 200 and len(body["trace_id"]) == 32, traceparent  # a new trace instead
    status, _, _ = app.get("/", headers={"X-Junk": "\t" + "é".encode().decode("latin-1") * 100})
    assert status == 200
    port = stack.ports["app"]
    assert raw_http(port, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 4")
    assert raw_http(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10000 + b"\r\n\r\n").startswith(b"HTTP/1.1 4")
    assert raw_http(port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 4")
    # A 5 MB body announced to `/` (GET only) is refused before it is read.
    huge = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"z" * 65536
    assert raw_http(port, huge).startswith(b"HTTP/1.1 405")
    assert app.get("/health")[0] == 200
    assert "Worker exiting" not in stack.services["app"].tail(200_000)


# --------------------------------------------------------------------------------- restarts under traffic


def test_no_log_line_is_lost_when_loki_restarts_mid_traffic(stack, app):
    prefix = secrets.token_hex(6)

    def traffic():
        # Steady requests for about 8 s, across Loki's stop, its 3 s away and its start.
        return [trace_id for _ in range(80) for trace_id in (time.sleep(0.1), traced_requests(app, 1, prefix))[1]]

    # Traffic in a thread, the restart here: a server dies with the thread that started it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        sending = pool.submit(traffic)
        time.sleep(1.0)
        stack.restart("loki", down_for=3.0)
        sent = sending.result(timeout=120)

    # The collector's sending queue and retries carry what arrived while Loki was down.
    def all_lines():
        counted = said_hello_count(stack, prefix)
        return counted if counted >= len(sent) else None

    counted = eventually(all_lines, timeout=120, interval=3, what=f"{len(sent)} log lines in Loki")
    assert counted == len(sent), f"sent {len(sent)} lines, Loki has {counted}"


def test_the_app_reconnects_on_its_own_after_the_collector_restarts(stack, app):
    stack.restart("otelcol", down_for=2.0)
    prefix = secrets.token_hex(6)
    sent = traced_requests(app, 10, prefix)
    eventually(lambda: said_hello_count(stack, prefix) >= len(sent), timeout=90, interval=2,
               what="log lines sent after the collector restarted")
    eventually(lambda: set(sent) <= stack.sentry_otlp.trace_ids(), timeout=60, what="their spans at Sentry's OTLP stand-in")


# ---------------------------------------------------------------------------------------- backends gone


def worker_pids(master_pid: int) -> set[int]:
    return set(family(master_pid)) - {master_pid}


def latencies(app: AppServer, count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        status, _, _ = app.get(("/", "/error", "/test-message")[i % 3], timeout=10)
        times.append(time.perf_counter() - started)
        assert status in (200, 500)
    return times


def test_with_loki_sentry_and_bugsink_down_the_app_stays_fast_and_bounded(stack, app):
    master = stack.services["app"].proc.pid
    workers = worker_pids(master)
    assert len(workers) == 2
    before = latencies(app, 60)
    memory_before = memory_mb(list(workers))

    stack.services["loki"].stop()
    stack.sentry_otlp.refuse = True
    stack.bugsink.stop()
    during = latencies(app, 600)

    assert worker_pids(master) == workers, "a worker died or was restarted"
    # Hang checks, not benchmarks (those are in bench/): an export that blocked requests would cost whole
    # seconds of connect timeouts and retries per request.
    assert statistics.median(during) < statistics.median(before) * 3 + 0.05, (statistics.median(before),
                                                                             statistics.median(during))
    assert max(during) < 2.0
    grown = memory_mb(list(workers)) - memory_before
    assert grown < 100, f"the workers grew by {grown:.0f} MB while the backends were down"
