#!/usr/bin/env bash
# Step 2: getsentry/self-hosted at the pinned tag, in sentry/self-hosted (git-ignored), used as upstream ships it.

fetch_self_hosted() {
  local current=""
  if [[ -d "$SELF_HOSTED_DIR/.git" ]]; then
    current=$(git -C "$SELF_HOSTED_DIR" describe --tags --exact-match 2>/dev/null || true)
  fi
  if [[ $current == "$SENTRY_SELF_HOSTED_VERSION" ]]; then
    say "sentry/self-hosted is already at ${SENTRY_SELF_HOSTED_VERSION}"
  elif [[ -d "$SELF_HOSTED_DIR/.git" ]]; then
    say "sentry/self-hosted is at ${current:-an untagged commit}: moving to ${SENTRY_SELF_HOSTED_VERSION}"
    git -C "$SELF_HOSTED_DIR" fetch --quiet --depth 1 origin tag "$SENTRY_SELF_HOSTED_VERSION"
    git -C "$SELF_HOSTED_DIR" checkout --quiet "$SENTRY_SELF_HOSTED_VERSION"
  else
    say "cloning ${SENTRY_SELF_HOSTED_REPO} at ${SENTRY_SELF_HOSTED_VERSION}"
    git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$SENTRY_SELF_HOSTED_VERSION" \
      "$SENTRY_SELF_HOSTED_REPO" "$SELF_HOSTED_DIR"
  fi
  write_self_hosted_overrides
}

# Upstream reads .env.custom before its own .env: this stack's project name, profile and bind address.
write_self_hosted_overrides() {
  local file="$SELF_HOSTED_DIR/.env.custom"
  env_put COMPOSE_PROJECT_NAME "$COMPOSE_PROJECT_NAME" "$file"
  env_put COMPOSE_PROFILES "$SENTRY_PROFILE" "$file"
  env_put SENTRY_BIND "${BIND_ADDRESS}:${SENTRY_PORT}" "$file"
  say "sentry/self-hosted/.env.custom: project ${COMPOSE_PROJECT_NAME}, profile ${SENTRY_PROFILE}, bind ${BIND_ADDRESS}:${SENTRY_PORT}"
}
