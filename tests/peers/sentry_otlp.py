"""A STAND-IN for Sentry's OTLP traces endpoint (Relay's /api/<project>/integration/otlp/v1/traces/).

Self-hosted Sentry cannot run here. This capture server checks what Relay checks about the collector's
requests (the project's path, the `x-sentry-auth: sentry sentry_key=<public key>` header) and decodes the OTLP
protobuf payload, so tests can assert that the collector delivered a request's spans, with its trace id, to
the URL and with the key that sentry-init.sh writes. It does not do what Sentry does with the spans; it
answers Sentry's events API for them (what `make smoke` asks) in Sentry's documented response format.
"""

from __future__ import annotations

import gzip
import json
import re
import secrets
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PATH = re.compile(r"^/api/(?P<project>\d+)/integration/otlp/v1/traces/?$")
AUTH = re.compile(r"^sentry\s+sentry_key=(?P<key>[0-9a-f]+)\s*$", re.IGNORECASE)


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    name: str
    service_name: str
    attributes: dict


class SentryOtlpStandIn:
    def __init__(self, project_id: str = "1", keep_spans: bool = True, host: str = "127.0.0.1", port: int = 0,
                 public_key: str | None = None):
        self.project_id = project_id
        self.public_key = public_key or secrets.token_hex(16)
        # A benchmark's millions of spans are counted, not kept.
        self.keep_spans = keep_spans
        self.spans: list[ReceivedSpan] = []
        self.span_count = 0
        self.first_seen: dict[str, float] = {}
        self.rejected: list[str] = []
        self.refuse = False  # answer 503, as a Relay that is down or overloaded would
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def traces_url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}/api/{self.project_id}/integration/otlp/v1/traces/"

    def start(self) -> "SentryOtlpStandIn":
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def trace_ids(self) -> set[str]:
        with self._lock:
            return set(self.first_seen)

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                # Sentry's events API, as `make smoke` asks it for a trace's spans: answered in Sentry's
                # documented format from the spans this stand-in received.
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if not url.path.startswith("/api/0/organizations/") or query.get("dataset") != ["spans"]:
                    return self._answer(404, b"not a route of this stand-in")
                trace_id = query.get("query", [""])[0].removeprefix("trace:")
                with stand_in._lock:
                    rows = [{"id": s.span_id, "trace": s.trace_id, "span.name": s.name}
                            for s in stand_in.spans if s.trace_id == trace_id]
                body = json.dumps({"data": rows, "meta": {"fields": {"id": "string", "trace": "string"}}})
                self._answer(200, body.encode(), "application/json")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                problem = stand_in._problem(self.path, self.headers, body)
                if stand_in.refuse:
                    return self._answer(503, b"refusing on purpose")
                if problem:
                    with stand_in._lock:
                        stand_in.rejected.append(problem)
                    return self._answer(401 if "auth" in problem else 400, problem.encode())
                self._answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

            def _answer(self, status: int, body: bytes, content_type: str = "text/plain"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def _problem(self, path: str, headers, body: bytes) -> str | None:
        match = PATH.match(path)
        if not match or match["project"] != self.project_id:
            return f"wrong path {path}"
        auth = AUTH.match(headers.get("x-sentry-auth", ""))
        if not auth or auth["key"] != self.public_key:
            return f"bad auth header {headers.get('x-sentry-auth')!r}"
        if headers.get("Content-Type") != "application/x-protobuf":
            return f"unexpected content type {headers.get('Content-Type')}"
        encoding = headers.get("Content-Encoding", "")
        decoders = {"": bytes, "gzip": gzip.decompress, "deflate": zlib.decompress}
        if encoding not in decoders:
            return f"unsupported content encoding {encoding}"
        body = decoders[encoding](body)
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as error:  # noqa: BLE001 (any decode failure is the finding)
            return f"payload is not OTLP traces: {error}"
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), name=span.name,
                        service_name=resource.get("service.name", ""),
                        attributes={a.key: a.value for a in span.attributes},
                    ))
        now = time.time()
        with self._lock:
            self.span_count += len(received)
            for span in received:
                self.first_seen.setdefault(span.trace_id, now)
            if self.keep_spans:
                self.spans.extend(received)
        return None


if __name__ == "__main__":
    # As a container (tests/compose): the project and key come from the environment, as sentry-init.sh's are.
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Sentry OTLP traces endpoint stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = SentryOtlpStandIn(os.environ.get("SENTRY_PROJECT_ID", "1"), keep_spans=True, host=args.host,
                               port=args.port, public_key=os.environ["SENTRY_PUBLIC_KEY"])
    server.serve_forever()
