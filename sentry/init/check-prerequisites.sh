#!/usr/bin/env bash
# Step 1: refuse early, with the reason, what would otherwise fail twenty minutes into Sentry's installer.

MIN_COMPOSE_VERSION=2.32.2

check_prerequisites() {
  check_docker
  check_compose_version
  check_resources
  check_ports
}

check_docker() {
  command -v docker >/dev/null || fail "docker is not installed (https://docs.docker.com/engine/install/)"
  docker info >/dev/null 2>&1 || fail "cannot reach the Docker daemon: is it running, and may this user use it?"
  say "Docker: reachable"
}

version_at_least() {
  printf '%s\n%s\n' "$2" "$1" | sort -V -C
}

check_compose_version() {
  local version
  version=$(docker compose version --short 2>/dev/null) ||
    fail "the Docker Compose v2 plugin is missing (https://docs.docker.com/compose/install/)"
  version=${version#v}
  version_at_least "$version" "$MIN_COMPOSE_VERSION" ||
    fail "Docker Compose $version is too old: self-hosted Sentry needs $MIN_COMPOSE_VERSION or newer"
  say "Docker Compose: $version"
}

check_resources() {
  local memory_mb cpus need_mb need_cpus
  memory_mb=$(($(docker info --format '{{.MemTotal}}') / 1024 / 1024))
  cpus=$(docker info --format '{{.NCPU}}')
  if [[ $SENTRY_PROFILE == feature-complete ]]; then need_mb=14000 need_cpus=4; else need_mb=7000 need_cpus=2; fi
  say "Docker has ${memory_mb} MB RAM and ${cpus} CPUs; ${SENTRY_PROFILE} needs ${need_mb} MB and ${need_cpus}"
  [[ $SKIP_RESOURCE_CHECK == 1 ]] && { say "resource check skipped (--skip-resource-check)"; return; }
  if ((memory_mb < need_mb || cpus < need_cpus)); then
    if [[ $SENTRY_PROFILE == feature-complete ]]; then
      fail "not enough RAM/CPU for the feature-complete profile (${need_mb} MB, ${need_cpus} CPUs): use --profile errors-only (7000 MB, 2 CPUs; no traces in Sentry)"
    fi
    fail "not enough RAM/CPU for the errors-only profile (${need_mb} MB, ${need_cpus} CPUs)"
  fi
}

check_ports() {
  if [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=${COMPOSE_PROJECT_NAME}")" ]]; then
    say "the stack is running: the ports in use are its own"
    return
  fi
  local host=$BIND_ADDRESS setting port
  [[ $host == 0.0.0.0 ]] && host=127.0.0.1
  for setting in SENTRY_PORT:"$SENTRY_PORT" APP_PORT:"${APP_PORT:-8000}" GRAFANA_PORT:"${GRAFANA_PORT:-3000}" \
    PROMETHEUS_PORT:"${PROMETHEUS_PORT:-9090}" LOKI_PORT:"${LOKI_PORT:-3100}" \
    OTLP_GRPC_PORT:"${OTLP_GRPC_PORT:-4317}" OTLP_HTTP_PORT:"${OTLP_HTTP_PORT:-4318}"; do
    port=${setting#*:}
    if (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null; then
      fail "port ${port} on ${host} is in use (${setting%%:*}): stop what listens there or set ${setting%%:*} to a free port"
    fi
  done
  say "ports: free"
}
