"""The whole stack on 127.0.0.1 without Docker: the same programs and config files as docker-compose.yml.

    app (gunicorn) --OTLP--> collector --> Loki (logs), Prometheus (metrics), Sentry OTLP stand-in (traces)
    app --sentry-sdk--> Bugsink (errors, in Sentry's place)
    Prometheus scrapes the app, the collector and Loki.

Each config file is used as committed. Only addresses differ from compose, and only through what the files
read from the environment (collector, Loki) or, for prometheus.yml, which has no environment expansion, by
swapping each scrape target's compose address for its loopback one. Grafana is not run (it cannot be built
here); its target points at a closed port.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .bugsink import Bugsink
from .process import Service, free_port, http_ok
from .sentry_otlp import SentryOtlpStandIn

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LoopbackStack:
    workdir: Path
    binaries: dict[str, Path]
    bugsink: Bugsink
    app_env: dict[str, str] = field(default_factory=dict)
    keep_spans: bool = True
    services: dict[str, Service] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("loki", "loki_grpc", "prometheus", "otlp_grpc", "otlp_http", "collector_metrics",
                     "collector_health", "app", "grafana"):
            self.ports[name] = free_port()
        self.sentry_otlp = SentryOtlpStandIn(keep_spans=self.keep_spans)
        self.project = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def app_url(self) -> str:
        return self.url("app")

    def start(self) -> "LoopbackStack":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sentry_otlp.start()
        self.project = self.bugsink.create_project(f"flask-app-{self.ports['app']}")
        self.start_loki()
        self.start_prometheus()
        self.start_collector()
        self.start_app()
        return self

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.sentry_otlp.stop()

    READY_PATHS = {"loki": ("loki", "/ready"), "prometheus": ("prometheus", "/-/ready"),
                   "otelcol": ("collector_health", "/"), "app": ("app", "/health")}

    def restart(self, name: str, down_for: float = 0.0) -> None:
        """Stop a service and start it again on the same ports and data, as `docker compose restart` does."""
        service = self.services[name]
        service.stop()
        time.sleep(down_for)
        service.start()
        port_name, path = self.READY_PATHS[name]
        service.wait_for_http(self.url(port_name) + path, timeout=90)

    def _service(self, name: str, cmd: list[str], env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Service:
        service = Service(name, cmd, self.workdir / f"{name}.log", env=env, cwd=cwd).start()
        self.services[name] = service
        return service

    def loki_env(self) -> dict[str, str]:
        return {"LOKI_LISTEN_ADDRESS": "127.0.0.1", "LOKI_HTTP_PORT": str(self.ports["loki"]),
                "LOKI_GRPC_PORT": str(self.ports["loki_grpc"]), "LOKI_DATA_DIR": str(self.workdir / "loki")}

    def start_loki(self) -> Service:
        service = self._service("loki", [str(self.binaries["loki"]), f"-config.file={ROOT / 'loki-config.yaml'}",
                                         "-config.expand-env=true"], env=self.loki_env())
        # Loki says ready once its ingester has joined the ring (about 15 s after start).
        return service.wait_for_http(f"{self.url('loki')}/ready", timeout=90)

    def prometheus_config(self) -> Path:
        """prometheus.yml with its scrape targets moved to loopback, beside a copy of its rules folder."""
        config = yaml.safe_load((ROOT / "prometheus.yml").read_text())
        loopback = {
            "app:8000": f"127.0.0.1:{self.ports['app']}",
            "otel-collector:8888": f"127.0.0.1:{self.ports['collector_metrics']}",
            "loki:3100": f"127.0.0.1:{self.ports['loki']}",
            "grafana:3000": f"127.0.0.1:{self.ports['grafana']}",
            "localhost:9090": f"127.0.0.1:{self.ports['prometheus']}",
        }
        for job in config["scrape_configs"]:
            for static in job["static_configs"]:
                static["targets"] = [loopback[target] for target in static["targets"]]
        target = self.workdir / "prometheus-etc"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "prometheus", target / "prometheus")
        (target / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        return target / "prometheus.yml"

    def start_prometheus(self) -> Service:
        service = self._service("prometheus", [
            str(self.binaries["prometheus"]), f"--config.file={self.prometheus_config()}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.ports['prometheus']}",
            # The same flags docker-compose.yml gives the image.
            "--web.enable-otlp-receiver", "--enable-feature=exemplar-storage",
        ])
        return service.wait_for_http(f"{self.url('prometheus')}/-/ready", timeout=60)

    def collector_env(self) -> dict[str, str]:
        return {
            "OTELCOL_HEALTH_ENDPOINT": f"127.0.0.1:{self.ports['collector_health']}",
            "OTELCOL_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.ports['otlp_grpc']}",
            "OTELCOL_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.ports['otlp_http']}",
            "OTELCOL_METRICS_HOST": "127.0.0.1",
            "OTELCOL_METRICS_PORT": str(self.ports["collector_metrics"]),
            "SENTRY_OTLP_TRACES_URL": self.sentry_otlp.traces_url,
            "SENTRY_PUBLIC_KEY": self.sentry_otlp.public_key,
            "PROMETHEUS_OTLP_ENDPOINT": f"{self.url('prometheus')}/api/v1/otlp",
            "LOKI_OTLP_ENDPOINT": f"{self.url('loki')}/otlp",
        }

    def start_collector(self) -> Service:
        service = self._service("otelcol", [str(self.binaries["otelcol"]),
                                            f"--config={ROOT / 'otel-collector-config.yaml'}"],
                                env=self.collector_env())
        return service.wait_for_http(self.url("collector_health"), timeout=60)

    def start_app(self) -> Service:
        env = {
            "SENTRY_DSN": self.project["dsn"],
            "SENTRY_ENVIRONMENT": "loopback",
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.url("otlp_http"),
            "OTEL_METRIC_EXPORT_INTERVAL_SECONDS": "2",
            "SERVER_NAME": "loopback-stack",
            **self.app_env,
        }
        self.services["app"] = start_app_under_gunicorn(self.workdir, self.ports["app"], env)
        return self.services["app"]


def start_app_under_gunicorn(workdir: Path, port: int, env: dict[str, str], workers: int = 2) -> Service:
    """The app as its image runs it: gunicorn with app/gunicorn.conf.py."""
    service = Service(
        "app", [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "stackapp.wsgi:app"],
        workdir / f"app-{port}.log", cwd=ROOT / "app",
        env={"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "FAILURE_RATE": "0",
             "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"app-metrics-{port}"), **env},
    ).start()
    try:
        return service.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), timeout=30)
    except Exception:
        service.stop()
        raise
