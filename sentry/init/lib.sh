#!/usr/bin/env bash
# Shared helpers of sentry-init.sh: output, timing, .env access, and Sentry's own compose project.

STEP_NUMBER=0
STEP_TOTAL=7

say() { printf '    %s\n' "$*"; }

fail() {
  printf 'sentry-init: error: %s\n' "$*" >&2
  exit 1
}

run_step() {
  local title=$1 started=$SECONDS
  shift
  STEP_NUMBER=$((STEP_NUMBER + 1))
  printf '[%d/%d] %s\n' "$STEP_NUMBER" "$STEP_TOTAL" "$title"
  "$@"
  printf '      done in %ss\n' "$((SECONDS - started))"
}

generate_secret() {
  # 32 URL-safe characters from the kernel's random source.
  head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 32
}

# .env: KEY=VALUE lines, written by this script only.
env_get() {
  local key=$1 file=${2:-$ENV_FILE}
  [[ -f "$file" ]] || return 0
  sed -n "s/^${key}=//p" "$file" | tail -n 1
}

env_put() {
  local key=$1 value=$2 file=${3:-$ENV_FILE}
  [[ -f $file ]] || new_env_file "$file"
  if grep -q "^${key}=" "$file"; then
    local escaped=${value//\\/\\\\}
    escaped=${escaped//&/\\&}
    escaped=${escaped//|/\\|}
    sed -i "s|^${key}=.*|${key}=${escaped}|" "$file"
  else
    printf '%s=%s\n' "$key" "$value" >>"$file"
  fi
}

# Secrets live here: readable by this user only.
new_env_file() {
  (umask 077 && : >"$1")
  if [[ $1 == "$ENV_FILE" ]]; then
    printf '%s\n' "# Written by sentry-init.sh: secrets for this machine, never commit it. Re-run sentry-init.sh" \
      "# after changing versions.env; it keeps what is here and refreshes the versions." >"$1"
  fi
}

# Keep a value that is already there; otherwise store the given one. Says which.
env_keep_or_put() {
  local key=$1 value=$2 current
  current=$(env_get "$key")
  if [[ -n "$current" ]]; then
    say "$key: kept"
  else
    env_put "$key" "$value"
    say "$key: written"
  fi
}

# docker compose on Sentry's own files, in this stack's compose project (so its containers and volumes are
# the ones `docker compose up` at the top level uses).
sentry_compose() {
  (cd "$SELF_HOSTED_DIR" && docker compose --ansi never -p "$COMPOSE_PROJECT_NAME" \
    --env-file .env --env-file .env.custom "$@")
}
