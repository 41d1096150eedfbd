"""`make bench`: what the instrumentation costs, how fast signals arrive, what the collector sustains, and
how much memory each process takes, on the loopback stack (tests/peers/stack.py: the real app, collector,
Prometheus and Loki; Bugsink and the OTLP capture server in Sentry's place).

It measures and prints a Markdown report (README.md's "Benchmarks" holds one); it passes or fails nothing.

    python -m bench.run [--seconds 10] [--rounds 3] [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.probes import wrk
from tests.peers import build
from tests.peers.bugsink import Bugsink
from tests.peers.process import cpu_seconds, family, free_port, memory_mb
from tests.peers.queries import exemplar_trace_ids, loki_streams
from tests.peers.stack import LoopbackStack, start_app_under_gunicorn

OFF = {"SENTRY_DSN": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "", "TRACING_ENABLED": "false"}


# ------------------------------------------------------------------------------ instrumentation cost


def instrumentation_cost(stack: LoopbackStack, bare, rounds: int, seconds: int) -> dict[str, dict]:
    """Side by side: the same app with full telemetry and with none, alternating, same load. Also the CPU
    each app spent per request, and what the pipeline (collector, Loki, Prometheus) spent meanwhile: on 2
    cores the pipeline's work for the full app competes with the app itself."""
    apps = {"bare": (f"http://127.0.0.1:{bare.port}", family(bare.proc.pid)),
            "full": (stack.app_url, family(stack.services["app"].proc.pid))}
    pipeline = [stack.services[name].proc.pid for name in ("otelcol", "loki", "prometheus")]
    results: dict[str, dict] = {name: {"load": [], "app_cpu_ms": [], "pipeline_cores": []} for name in apps}
    for _ in range(rounds):
        for name, (url, pids) in apps.items():
            app_cpu, pipeline_cpu = cpu_seconds(pids), cpu_seconds(pipeline)
            load = wrk(f"{url}/", seconds)
            results[name]["load"].append(load)
            served = load.requests_per_s * seconds
            results[name]["app_cpu_ms"].append((cpu_seconds(pids) - app_cpu) * 1000 / served)
            results[name]["pipeline_cores"].append((cpu_seconds(pipeline) - pipeline_cpu) / seconds)
    return results


# ---------------------------------------------------------------------------------- time to signal


def time_to_signal(stack: LoopbackStack, requests: int) -> dict[str, list[float]]:
    """Send `requests` traced /error requests while polling every backend; first sighting per trace id."""
    prefix = secrets.token_hex(4)
    sent: dict[str, float] = {}  # trace id -> sent at
    by_event: dict[str, str] = {}  # Sentry event id -> trace id
    seen: dict[str, dict[str, float]] = {"logs in Loki": {}, "exemplar in Prometheus": {},
                                         "error in Bugsink": {}, "trace at Sentry OTLP stand-in": {}}
    sending = True

    def poll() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (sending or any(len(found) < len(sent) for found in seen.values())):
            now = time.time()
            for trace_id in _loki_trace_ids(stack, prefix):
                seen["logs in Loki"].setdefault(trace_id, now)
            for trace_id in _exemplar_trace_ids(stack, prefix):
                seen["exemplar in Prometheus"].setdefault(trace_id, now)
            for event_id in _bugsink_event_ids(stack):
                if event_id in by_event:
                    seen["error in Bugsink"].setdefault(by_event[event_id], now)
            for trace_id, at in stack.sentry_otlp.first_seen.copy().items():
                if trace_id in sent:
                    seen["trace at Sentry OTLP stand-in"].setdefault(trace_id, at)
            time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    for _ in range(requests):
        trace_id = prefix + secrets.token_hex(12)
        request = urllib.request.Request(f"{stack.app_url}/error",
                                         headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
        sent[trace_id] = time.time()
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:
            by_event[json.loads(error.read())["event_id"]] = trace_id
        time.sleep(0.5)
    sending = False
    poller.join()
    return {signal: [at - sent[t] for t, at in found.items()] for signal, found in seen.items()}


def _loki_trace_ids(stack: LoopbackStack, prefix: str) -> set[str]:
    streams = loki_streams(stack.url("loki"), f'{{service_name="flask-app"}} | trace_id=~"{prefix}.*"', 600)
    return {s["stream"]["trace_id"] for s in streams if "trace_id" in s["stream"]}


def _exemplar_trace_ids(stack: LoopbackStack, prefix: str) -> set[str]:
    found = exemplar_trace_ids(stack.url("prometheus"),
                               'traces_span_metrics_duration_milliseconds_bucket{http_route="/error"}', 600)
    return {trace_id for trace_id in found if trace_id and trace_id.startswith(prefix)}


def _bugsink_event_ids(stack: LoopbackStack) -> set[str]:
    return {e["event_id"].replace("-", "") for e in stack.bugsink.event_summaries(stack.project["id"])}


# ------------------------------------------------------------------------------ collector throughput


def collector_metric(stack: LoopbackStack, name: str) -> float:
    with urllib.request.urlopen(f"{stack.url('collector_metrics')}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def collector_throughput(stack: LoopbackStack, telemetrygen: Path, seconds: int) -> dict[str, dict[str, float]]:
    pid = stack.services["otelcol"].proc.pid
    results = {}
    for signal, accepted, refused in (("traces", "otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans"),
                                      ("logs", "otelcol_receiver_accepted_log_records",
                                       "otelcol_receiver_refused_log_records")):
        before = {"accepted": collector_metric(stack, accepted), "refused": collector_metric(stack, refused),
                  "cpu": cpu_seconds([pid])}
        subprocess.run([str(telemetrygen), signal, "--otlp-endpoint", f"127.0.0.1:{stack.ports['otlp_grpc']}",
                        "--otlp-insecure", "--rate", "0", "--workers", "1", "--duration", f"{seconds}s"],
                       capture_output=True, check=True)
        time.sleep(2)  # let the last batches land
        results[signal] = {
            "per_second": (collector_metric(stack, accepted) - before["accepted"]) / seconds,
            "refused": collector_metric(stack, refused) - before["refused"],
            "cpu_cores": (cpu_seconds([pid]) - before["cpu"]) / seconds,
            "peak_rss_mb": memory_mb([pid], "VmHWM"),
        }
    return results


# ------------------------------------------------------------------------------------------- report


def processes(stack: LoopbackStack, bare) -> dict[str, list[int]]:
    return {
        "app, full telemetry (gunicorn, 2 workers)": family(stack.services["app"].proc.pid),
        "app, telemetry off (gunicorn, 2 workers)": family(bare.proc.pid),
        "otel-collector": [stack.services["otelcol"].proc.pid],
        "prometheus": [stack.services["prometheus"].proc.pid],
        "loki": [stack.services["loki"].proc.pid],
        "bugsink (stand-in for Sentry)": family(stack.bugsink.service.proc.pid),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)] if values else float("nan")


def report(cost, signals, requests, collector, idle, peak) -> str:
    def row(label: str, name: str) -> str:
        runs = cost[name]
        return (f"| {label} | {median([r.requests_per_s for r in runs['load']]):.0f} | "
                f"{median([r.p50_ms for r in runs['load']]):.1f} ms | {median([r.p99_ms for r in runs['load']]):.1f} ms | "
                f"{median(runs['app_cpu_ms']):.2f} ms | {median(runs['pipeline_cores']):.2f} |")

    def ratio(key) -> float:
        return median([key(r) for r in cost["full"]["load"]]) / median([key(r) for r in cost["bare"]["load"]])

    cpu_ratio = median(cost["bare"]["app_cpu_ms"]) / median(cost["full"]["app_cpu_ms"])
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; `make bench` reproduces it.",
        "",
        "Instrumentation cost (`/`, wrk 1 thread 8 connections, gunicorn 2 workers x 4 threads; median of "
        "alternating rounds):",
        "",
        "| app | requests/s | p50 | p99 | app CPU per request | pipeline CPU meanwhile (cores) |",
        "| --- | --- | --- | --- | --- | --- |",
        row("telemetry off", "bare"),
        row("full telemetry (Sentry + OTel to the collector, 100% sampled)", "full"),
        f"| full / off (goal >= 0.85) | **{ratio(lambda r: r.requests_per_s):.2f}x** | | | "
        f"{cpu_ratio:.2f}x the requests per CPU second | |",
        "",
        f"Time to signal (request sent to visible through the backend's API; {requests} `/error` requests 0.5 s "
        "apart, every backend polled in a loop meanwhile; the stand-in's own receive time for traces):",
        "",
        "| signal | found | median | p95 |",
        "| --- | --- | --- | --- |",
        *[f"| {signal} | {len(values)}/{requests} | {median(values):.2f} s | {p95(values):.2f} s |"
          for signal, values in signals.items()],
        "",
        "Collector throughput (telemetrygen, unthrottled, 1 worker over OTLP/gRPC, through "
        "otel-collector-config.yaml to the real backends; everything shares the same 2 cores):",
        "",
        "| signal | accepted/s | refused | collector CPU | collector peak RSS |",
        "| --- | --- | --- | --- | --- |",
        *[f"| {signal} | {r['per_second']:.0f} | {r['refused']:.0f} | {r['cpu_cores']:.2f} cores | "
          f"{r['peak_rss_mb']:.0f} MB |" for signal, r in collector.items()],
        "",
        "Memory (RSS; peak is the high-water mark after all of the above):",
        "",
        "| process | idle | peak |",
        "| --- | --- | --- |",
        *[f"| {name} | {idle[name]:.0f} MB | {peak[name]:.0f} MB |" for name in idle],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating load rounds per app")
    parser.add_argument("--requests", type=int, default=30, help="requests followed for time to signal")
    args = parser.parse_args(argv)

    binaries = {"otelcol": build.build_collector(), **build.build_prometheus(), "loki": build.build_loki()}
    telemetrygen = build.build_telemetrygen()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    bugsink = Bugsink(workdir / "bugsink").start()
    stack = LoopbackStack(workdir / "stack", binaries, bugsink, keep_spans=False,
                          app_env={"TRACE_SAMPLE_RATE": "1.0"}).start()
    bare_port = free_port()
    bare = start_app_under_gunicorn(workdir, bare_port, OFF)
    bare.port = bare_port
    try:
        time.sleep(5)
        names = processes(stack, bare)
        idle = {name: memory_mb(pids) for name, pids in names.items()}
        print("measuring instrumentation cost ...", flush=True)
        cost = instrumentation_cost(stack, bare, args.rounds, args.seconds)
        print("measuring time to signal ...", flush=True)
        signals = time_to_signal(stack, args.requests)
        print("measuring collector throughput ...", flush=True)
        collector = collector_throughput(stack, telemetrygen, args.seconds)
        peak = {name: memory_mb(family(pids[0]), "VmHWM") for name, pids in names.items()}
        text = report(cost, signals, args.requests, collector, idle, peak)
    finally:
        bare.stop()
        stack.stop()
        bugsink.stop()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
