#!/usr/bin/env bash
# Step 6: the app's project in Sentry, its DSN key, and a read-only API token for Grafana's Sentry datasource.
# One `sentry exec` run does it all (each container start costs seconds); it changes nothing that exists.

create_project() {
  local want_token=1 output
  [[ -n $(env_get GRAFANA_SENTRY_TOKEN) ]] && want_token=0
  output=$(sentry_compose run --rm -T -e SENTRY_ORG="$SENTRY_ORG" -e SENTRY_PROJECT="$SENTRY_PROJECT" \
    -e SENTRY_ADMIN_EMAIL="$SENTRY_ADMIN_EMAIL" -e WANT_TOKEN="$want_token" \
    web exec <"$ROOT/sentry/init/bootstrap_project.py")
  SENTRY_PROJECT_ID=$(sed -n 's/^SENTRY_PROJECT_ID=//p' <<<"$output")
  SENTRY_PUBLIC_KEY=$(sed -n 's/^SENTRY_PUBLIC_KEY=//p' <<<"$output")
  NEW_GRAFANA_TOKEN=$(sed -n 's/^GRAFANA_SENTRY_TOKEN=//p' <<<"$output")
  [[ $SENTRY_PROJECT_ID =~ ^[0-9]+$ && $SENTRY_PUBLIC_KEY =~ ^[0-9a-f]{32}$ ]] ||
    fail "Sentry did not report the project's id and key; it said: ${output}"
  say "project ${SENTRY_ORG}/${SENTRY_PROJECT}: id ${SENTRY_PROJECT_ID}"
  if ((want_token)); then
    [[ -n $NEW_GRAFANA_TOKEN ]] || fail "Sentry did not return Grafana's API token; it said: ${output}"
    say "Grafana's API token: created"
  else
    say "Grafana's API token: kept"
  fi
}
