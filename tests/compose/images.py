"""Docker images for running the real docker-compose.yml here, where no image can be pulled.

A Debian base image is made with debootstrap (once, cached as a local image); the collector, Prometheus and
Loki images are the binaries the pipeline tests build, packaged like the official images and tagged with
exactly the names and tags docker-compose.yml pins, so Compose uses them as they are. Sentry's part is
replaced by stand-ins (Bugsink, the OTLP capture server, nginx routing to both): see
tests/compose/docker-compose.stand-ins.yml.

    python -m tests.compose.images      # start dockerd if needed, build what is missing, print the tags
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.peers import build
from tests.peers.process import Service

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).with_name("stand-ins")
BASE = "local/stand-in-debian:bookworm"
PYTHON_BASE = "local/stand-in-python:3.11"
# Packages the stand-in images need on top of Debian's minimal base.
BASE_PACKAGES = "python3,python3-venv,ca-certificates,wget,passwd,netbase"


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, **kwargs)


def unavailable_reason() -> str | None:
    """Why images cannot be built and run on this machine, or None when they can."""
    for tool in ("docker", "dockerd", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "debootstrap and starting dockerd need root"
    return None


def ensure_dockerd(log_dir: Path) -> Service | None:
    """The running Docker daemon, or one started now (which stops with this process)."""
    if docker("info", check=False).returncode == 0:
        return None
    daemon = Service("dockerd", ["dockerd"], log_dir / "dockerd.log").start()
    return daemon.wait_until(lambda: docker("info", check=False).returncode == 0, timeout=60)


def image_exists(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def ensure_base() -> None:
    if image_exists(BASE):
        return
    with tempfile.TemporaryDirectory() as rootfs:
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", rootfs],
                       check=True, capture_output=True)
        # The CAs this machine trusts: a registry proxy in between may sign with its own.
        shutil.copy2("/etc/ssl/certs/ca-certificates.crt", Path(rootfs) / "etc/ssl/certs/ca-certificates.crt")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE], stdin=tar.stdout, check=True, capture_output=True)
        tar.wait()


def build_image(tag: str, name: str, files: dict[str, Path] | None = None, **args: str) -> None:
    """`docker build` of tests/compose/stand-ins/<name> (plus `files`) as `tag`, unless it exists."""
    if image_exists(tag):
        return
    with tempfile.TemporaryDirectory() as context:
        shutil.copytree(STAND_INS / name, context, dirs_exist_ok=True)
        for target, source in (files or {}).items():
            shutil.copy2(source, Path(context) / target)
        build_args = [f"--build-arg={key}={value}" for key, value in args.items()]
        result = docker("build", "--network=host", "-t", tag, *build_args, context, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"docker build {tag} failed:\n{result.stderr[-3000:]}")


def pinned(requirement: str) -> str:
    """A package's pin in app/requirements.txt, so the stand-ins use what the app uses."""
    match = re.search(rf"^({re.escape(requirement)}==\S+)$", (ROOT / "app" / "requirements.txt").read_text(), re.M | re.I)
    return match[1]


def build_all() -> dict[str, str]:
    versions = build.read_versions()
    binaries = {"otelcol": build.build_collector(), **build.build_prometheus(), "loki": build.build_loki()}
    ensure_base()
    tags = {
        "python": PYTHON_BASE,
        "otelcol": f"otel/opentelemetry-collector-contrib:{versions['OTELCOL_VERSION']}",
        "prometheus": f"prom/prometheus:v{versions['PROMETHEUS_VERSION']}",
        "loki": f"grafana/loki:{versions['LOKI_VERSION']}",
        "bugsink": "local/stand-in-bugsink:2.6.1",
        "sentry-otlp": "local/stand-in-sentry-otlp:1",
        "sentry-nginx": "local/stand-in-sentry-nginx:1",
    }
    build_image(tags["python"], "python-base", BASE=BASE)
    build_image(tags["otelcol"], "otelcol", {"otelcol": binaries["otelcol"]})
    build_image(tags["prometheus"], "prometheus",
                {"prometheus": binaries["prometheus"], "promtool": binaries["promtool"]}, BASE=BASE)
    build_image(tags["loki"], "loki", {"loki": binaries["loki"]}, BASE=BASE)
    build_image(tags["bugsink"], "bugsink", {"bugsink-requirements.txt": ROOT / "tests" / "peers" / "bugsink-requirements.txt"},
                PYTHON_BASE=PYTHON_BASE)
    build_image(tags["sentry-otlp"], "sentry-otlp", {"sentry_otlp.py": ROOT / "tests" / "peers" / "sentry_otlp.py"},
                PYTHON_BASE=PYTHON_BASE, PROTO_PINS=f"{pinned('opentelemetry-proto')} {pinned('protobuf')}")
    build_image(tags["sentry-nginx"], "sentry-nginx", BASE=BASE)
    return tags


if __name__ == "__main__":
    started = time.monotonic()
    ensure_dockerd(Path(tempfile.gettempdir()))
    for name, tag in build_all().items():
        print(f"{name}={tag}")
    print(f"in {time.monotonic() - started:.0f}s", file=sys.stderr)
