#!/usr/bin/env bash
# Step 7: .env, which docker compose reads: versions (refreshed from versions.env on every run), addresses,
# the DSNs (one for containers, one for a browser), keys and generated passwords (kept once written).

write_env() {
  local before=""
  [[ -f $ENV_FILE ]] && before=$(cat "$ENV_FILE")
  write_versions
  env_put COMPOSE_PROFILES "$SENTRY_PROFILE"
  env_put BIND_ADDRESS "$BIND_ADDRESS"
  env_put SENTRY_PORT "$SENTRY_PORT"
  env_put SENTRY_URL "$SENTRY_URL"
  env_put SENTRY_INTERNAL_URL "http://nginx"
  env_put SENTRY_ORG "$SENTRY_ORG"
  env_put SENTRY_PROJECT "$SENTRY_PROJECT"
  env_put SENTRY_PROJECT_ID "$SENTRY_PROJECT_ID"
  env_put SENTRY_PUBLIC_KEY "$SENTRY_PUBLIC_KEY"
  # Containers reach Sentry through its nginx on the compose network; a browser or a host process through
  # the published port.
  env_put SENTRY_DSN "http://${SENTRY_PUBLIC_KEY}@nginx/${SENTRY_PROJECT_ID}"
  env_put SENTRY_DSN_PUBLIC "http://${SENTRY_PUBLIC_KEY}@localhost:${SENTRY_PORT}/${SENTRY_PROJECT_ID}"
  env_put SENTRY_OTLP_TRACES_URL "http://nginx/api/${SENTRY_PROJECT_ID}/integration/otlp/v1/traces/"
  if [[ $SENTRY_PROFILE == errors-only ]]; then
    # errors-only Sentry takes no OTLP: traces feed the span metrics only.
    env_put OTELCOL_TRACES_EXPORTERS "[span_metrics]"
  else
    env_put OTELCOL_TRACES_EXPORTERS "[otlp_http/sentry, span_metrics]"
  fi
  if [[ -n ${NEW_GRAFANA_TOKEN:-} ]]; then
    env_put GRAFANA_SENTRY_TOKEN "$NEW_GRAFANA_TOKEN"
  fi
  env_keep_or_put GRAFANA_ADMIN_PASSWORD "$(generate_secret)"
  if [[ $(cat "$ENV_FILE") == "$before" ]]; then
    say ".env: unchanged ($(grep -c '=' "$ENV_FILE") settings)"
  else
    say ".env: written ($(grep -c '=' "$ENV_FILE") settings)"
  fi
  sentry_compose_config_check
}

write_versions() {
  local key value changed=0
  while IFS='=' read -r key value; do
    [[ -z $key || $key == \#* ]] && continue
    if [[ $(env_get "$key") != "$value" ]]; then
      env_put "$key" "$value"
      changed=1
    fi
  done <"$VERSIONS_FILE"
  if ((changed)); then say "versions: copied from versions.env"; else say "versions: already match versions.env"; fi
}

sentry_compose_config_check() {
  docker compose --ansi never config --quiet || fail "docker compose cannot load docker-compose.yml with this .env"
  say "docker compose config: the whole stack resolves"
}

print_summary() {
  cat <<SUMMARY

Sentry is prepared. Next: docker compose up -d   (or: make up)

  Sentry   ${SENTRY_URL}   login ${SENTRY_ADMIN_EMAIL}
  Grafana  http://localhost:${GRAFANA_PORT:-3000}   login admin, password: GRAFANA_ADMIN_PASSWORD in .env
  App      http://localhost:${APP_PORT:-8000}        try: curl localhost:${APP_PORT:-8000}/error
  DSN for code on this machine: $(env_get SENTRY_DSN_PUBLIC)
SUMMARY
  if [[ -n $GENERATED_ADMIN_PASSWORD ]]; then
    printf '\n  Sentry admin password (shown this once, stored nowhere): %s\n' "$GENERATED_ADMIN_PASSWORD"
  fi
}
