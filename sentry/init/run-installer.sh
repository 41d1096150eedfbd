#!/usr/bin/env bash
# Step 3: upstream's installer (volumes, relay credentials, secret key, Kafka topics, migrations), unattended.
# It takes 10-30 minutes the first time; a marker records a finished run so a second run skips it.

run_installer() {
  local marker="$SELF_HOSTED_DIR/.installed-by-sentry-init" wanted="${SENTRY_SELF_HOSTED_VERSION} ${SENTRY_PROFILE}"
  if [[ -f $marker && $(cat "$marker") == "$wanted" ]]; then
    say "already installed (${wanted}); delete ${marker#"$ROOT"/} to run the installer again"
    return
  fi
  (cd "$SELF_HOSTED_DIR" && ./install.sh --skip-user-creation --no-report-self-hosted-issues \
    --apply-automatic-config-updates)
  printf '%s\n' "$wanted" >"$marker"
}
