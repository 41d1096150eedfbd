#!/usr/bin/env bash
# Step 4: system.url-prefix, without which Sentry shows no DSN and builds no links.

set_url_prefix() {
  local config="$SELF_HOSTED_DIR/sentry/config.yml" line="system.url-prefix: '${SENTRY_URL}'"
  [[ -f $config ]] || fail "${config#"$ROOT"/} is missing: Sentry's installer did not finish"
  if grep -qxF "$line" "$config"; then
    say "already ${SENTRY_URL}"
  elif grep -qE '^system\.url-prefix:' "$config"; then
    sed -i "s|^system\.url-prefix:.*|${line}|" "$config"
    say "changed to ${SENTRY_URL}"
  else
    printf '\n# Set by sentry-init.sh.\n%s\n' "$line" >>"$config"
    say "set to ${SENTRY_URL}"
  fi
}
