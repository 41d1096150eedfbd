"""Build the real OpenTelemetry Collector, Prometheus 3 and Loki 3 from the Go module proxy, cached by version.

The versions are the ones docker-compose.yml pins (versions.env). The collector is built with the collector
builder from exactly the components otel-collector-config.yaml uses, so a component the config names but the
image would not have fails here first.

    python -m tests.peers.build [otelcol|prometheus|loki|telemetrygen ...]   # prints NAME=PATH per binary

Binaries land in $STACK_PEERS_CACHE (default ~/.cache/observability-stack/peers)/<name>-<version>/ and are
reused as long as that directory's stamp exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG = ROOT / "otel-collector-config.yaml"
CACHE = Path(os.environ.get("STACK_PEERS_CACHE", Path.home() / ".cache" / "observability-stack" / "peers"))

CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"
# Component type (as the config names it) -> Go module. Core and contrib release together under one version.
COMPONENT_MODULES = {
    ("receivers", "otlp"): f"{CORE}/receiver/otlpreceiver",
    ("processors", "memory_limiter"): f"{CORE}/processor/memorylimiterprocessor",
    ("exporters", "otlp_http"): f"{CORE}/exporter/otlphttpexporter",
    ("exporters", "otlp_grpc"): f"{CORE}/exporter/otlpexporter",
    ("exporters", "debug"): f"{CORE}/exporter/debugexporter",
    ("connectors", "span_metrics"): f"{CONTRIB}/connector/spanmetricsconnector",
    ("extensions", "health_check"): f"{CONTRIB}/extension/healthcheckextension",
}


class BuildError(RuntimeError):
    pass


def read_versions(path: Path = ROOT / "versions.env") -> dict[str, str]:
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def collector_components(config_path: Path = COLLECTOR_CONFIG) -> dict[str, list[str]]:
    """The Go modules of every component the collector config declares, by kind."""
    config = yaml.safe_load(config_path.read_text())
    components: dict[str, list[str]] = {}
    for kind in ("receivers", "processors", "exporters", "connectors", "extensions"):
        for name in config.get(kind) or {}:
            component_type = name.split("/", 1)[0]
            module = COMPONENT_MODULES.get((kind, component_type))
            if module is None:
                raise BuildError(
                    f"{config_path.name}: {kind}.{name} has no Go module in tests/peers/build.py COMPONENT_MODULES"
                )
            components.setdefault(kind, [])
            if module not in components[kind]:
                components[kind].append(module)
    return components


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    log = cwd / "build.log"
    # Module copies can carry a go.work naming folders the module zip leaves out.
    env = {**os.environ, "GOWORK": "off", **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise BuildError(f"{' '.join(cmd)} failed in {cwd} (exit {proc.returncode}):\n{tail}")


def _go_module_copy(module: str, version: str, workdir: Path) -> Path:
    """A writable copy of a module as the proxy serves it (the module cache is read-only)."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, cwd=workdir
    )
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise BuildError(f"go mod download {module}@{version}: {info.get('Error') or out.stderr.strip()}")
    src = workdir / "src"
    shutil.copytree(info["Dir"], src)
    for path in src.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    return src


def _cached(name: str, version: str, binaries: list[str], build) -> dict[str, Path]:
    target = CACHE / f"{name}-{version}"
    paths = {b: target / b for b in binaries}
    stamp = target / ".built"
    if stamp.exists() and all(p.exists() for p in paths.values()):
        return paths
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"building {name} {version} (cold; cached afterwards in {target})", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix=f"build-{name}-", dir=CACHE) as tmp:
        built = build(Path(tmp))
        staging = CACHE / f".{name}-{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for binary in binaries:
            shutil.copy2(built[binary], staging / binary)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    stamp.write_text(f"built in {time.monotonic() - started:.0f}s\n")
    print(f"built {name} {version} in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return paths


def build_collector() -> Path:
    version = read_versions()["OTELCOL_VERSION"]
    components = collector_components()
    manifest = {
        "dist": {
            "name": "otelcol-stack",
            "description": "The components otel-collector-config.yaml uses",
            "version": version,
            "output_path": "dist",
        },
        **{kind: [{"gomod": f"{module} v{version}"} for module in modules] for kind, modules in components.items()},
    }
    text = yaml.safe_dump(manifest, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]

    def build(tmp: Path) -> dict[str, Path]:
        (tmp / "manifest.yaml").write_text(text)
        gobin = tmp / "gobin"
        _run(["go", "install", f"{CORE}/cmd/builder@v{version}"], tmp, {"GOBIN": str(gobin)})
        _run([str(gobin / "builder"), "--config", "manifest.yaml"], tmp)
        return {"otelcol": tmp / "dist" / "otelcol-stack"}

    return _cached(f"otelcol-{digest}", version, ["otelcol"], build)["otelcol"]


def build_prometheus() -> dict[str, Path]:
    version = read_versions()["PROMETHEUS_VERSION"]
    major, minor, patch = version.split(".")
    module_version = f"v0.{int(major) * 100 + int(minor)}.{patch}"

    def build(tmp: Path) -> dict[str, Path]:
        src = _go_module_copy("github.com/prometheus/prometheus", module_version, tmp)
        # `go install` refuses the module's replace directives, so build inside a copy of it. Without the
        # web UI assets every HTTP API is still served; remove_all_sd leaves out the cloud discoverers.
        _run(["go", "build", "-tags", "netgo,remove_all_sd", "-o", str(tmp / "out") + "/", "./cmd/prometheus",
              "./cmd/promtool"], src, {"CGO_ENABLED": "0"})
        return {"prometheus": tmp / "out" / "prometheus", "promtool": tmp / "out" / "promtool"}

    return _cached("prometheus", version, ["prometheus", "promtool"], build)


def build_loki() -> Path:
    version = read_versions()["LOKI_VERSION"]

    def build(tmp: Path) -> dict[str, Path]:
        src = _go_module_copy("github.com/grafana/loki/v3", f"v{version}", tmp)
        # The module zip leaves out the nested module pkg/push that go.mod replaces with ./pkg/push: point the
        # replacement at the version go.mod itself requires, as the proxy serves it.
        push = "github.com/grafana/loki/pkg/push"
        _run(["go", "mod", "edit", "-replace", f"{push}={push}@{_required_version(src / 'go.mod', push)}"], src)
        _run(["go", "build", "-mod=mod", "-tags", "netgo", "-o", str(tmp / "out") + "/", "./cmd/loki"], src,
             {"CGO_ENABLED": "0"})
        return {"loki": tmp / "out" / "loki"}

    return _cached("loki", version, ["loki"], build)["loki"]


def build_telemetrygen() -> Path:
    version = read_versions()["TELEMETRYGEN_VERSION"]

    def build(tmp: Path) -> dict[str, Path]:
        _run(["go", "install", f"{CONTRIB}/cmd/telemetrygen@v{version}"], tmp, {"GOBIN": str(tmp / "bin")})
        return {"telemetrygen": tmp / "bin" / "telemetrygen"}

    return _cached("telemetrygen", version, ["telemetrygen"], build)["telemetrygen"]


def _required_version(go_mod: Path, module: str) -> str:
    for line in go_mod.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in (module, "require") and module in parts:
            return parts[parts.index(module) + 1]
    raise BuildError(f"{go_mod}: no require line for {module}")


BUILDERS = {
    "otelcol": lambda: {"otelcol": build_collector()},
    "prometheus": build_prometheus,
    "loki": lambda: {"loki": build_loki()},
    "telemetrygen": lambda: {"telemetrygen": build_telemetrygen()},
}


def main(argv: list[str]) -> int:
    # With no names: what the tests need (telemetrygen is for `make bench` only).
    names = argv or ["otelcol", "prometheus", "loki"]
    for name in names:
        if name not in BUILDERS:
            print(f"unknown binary {name!r}; choose from {', '.join(BUILDERS)}", file=sys.stderr)
            return 2
        try:
            for binary, path in BUILDERS[name]().items():
                print(f"{binary}={path}")
        except BuildError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
