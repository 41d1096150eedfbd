#!/usr/bin/env bash
# Settings of sentry-init.sh: flags win over the environment, which wins over the defaults.

usage() {
  cat <<'USAGE'
Usage: ./sentry-init.sh [options]

Prepares self-hosted Sentry (fetch, install, admin user, project, DSN, tokens) and writes .env.
Every option can also be given as the environment variable in brackets.

  --profile NAME        feature-complete (errors, traces, OTLP; 14 GB RAM, 4 CPUs) or
                        errors-only (7 GB, 2 CPUs; no traces)            [SENTRY_PROFILE]
  --admin-email EMAIL   Sentry admin login (default admin@example.com)   [SENTRY_ADMIN_EMAIL]
  --admin-password PW   default: generated and printed once              [SENTRY_ADMIN_PASSWORD]
  --sentry-port PORT    where a browser reaches Sentry (default 9000)    [SENTRY_PORT]
  --bind ADDRESS        address published ports bind to (default 127.0.0.1) [BIND_ADDRESS]
  --source URL|PATH     getsentry/self-hosted git repository to fetch from   [SENTRY_SELF_HOSTED_REPO]
  --skip-resource-check do not refuse a machine below the profile's RAM/CPU minimum
  -h, --help            this text
USAGE
}

parse_settings() {
  SENTRY_PROFILE=${SENTRY_PROFILE:-feature-complete}
  SENTRY_ADMIN_EMAIL=${SENTRY_ADMIN_EMAIL:-}
  SENTRY_ADMIN_PASSWORD=${SENTRY_ADMIN_PASSWORD:-}
  SENTRY_PORT=${SENTRY_PORT:-9000}
  BIND_ADDRESS=${BIND_ADDRESS:-127.0.0.1}
  SENTRY_SELF_HOSTED_REPO=${SENTRY_SELF_HOSTED_REPO:-https://github.com/getsentry/self-hosted.git}
  SKIP_RESOURCE_CHECK=${SKIP_RESOURCE_CHECK:-0}
  while [[ $# -gt 0 ]]; do
    case $1 in
      --profile) SENTRY_PROFILE=${2:?--profile needs a value}; shift ;;
      --admin-email) SENTRY_ADMIN_EMAIL=${2:?--admin-email needs a value}; shift ;;
      --admin-password) SENTRY_ADMIN_PASSWORD=${2:?--admin-password needs a value}; shift ;;
      --sentry-port) SENTRY_PORT=${2:?--sentry-port needs a value}; shift ;;
      --bind) BIND_ADDRESS=${2:?--bind needs a value}; shift ;;
      --source) SENTRY_SELF_HOSTED_REPO=${2:?--source needs a value}; shift ;;
      --skip-resource-check) SKIP_RESOURCE_CHECK=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; fail "unknown option $1" ;;
    esac
    shift
  done

  case $SENTRY_PROFILE in
    feature-complete | errors-only) ;;
    *) fail "SENTRY_PROFILE=$SENTRY_PROFILE: choose feature-complete or errors-only" ;;
  esac
  [[ $SENTRY_PORT =~ ^[0-9]+$ ]] || fail "SENTRY_PORT=$SENTRY_PORT: not a port number"

  ENV_FILE="$ROOT/.env"
  VERSIONS_FILE="$ROOT/versions.env"
  SELF_HOSTED_DIR="$ROOT/sentry/self-hosted"
  COMPOSE_PROJECT_NAME=observability-stack
  SENTRY_SELF_HOSTED_VERSION=$(env_get SENTRY_SELF_HOSTED_VERSION "$VERSIONS_FILE")
  [[ -n "$SENTRY_SELF_HOSTED_VERSION" ]] || fail "versions.env has no SENTRY_SELF_HOSTED_VERSION"
  # A second run keeps the first run's admin unless told otherwise.
  if [[ -z "$SENTRY_ADMIN_EMAIL" ]]; then
    SENTRY_ADMIN_EMAIL=$(env_get SENTRY_ADMIN_EMAIL)
    SENTRY_ADMIN_EMAIL=${SENTRY_ADMIN_EMAIL:-admin@example.com}
  fi
  SENTRY_URL="http://localhost:${SENTRY_PORT}"
  SENTRY_ORG=sentry
  SENTRY_PROJECT=flask-app
  export COMPOSE_PROJECT_NAME
}
