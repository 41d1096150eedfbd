#!/usr/bin/env bash
# Step 5: the Sentry admin. The password is generated unless given, and printed once, at the end.

GENERATED_ADMIN_PASSWORD=""

create_admin_user() {
  if [[ $(env_get SENTRY_ADMIN_EMAIL) == "$SENTRY_ADMIN_EMAIL" && -z $SENTRY_ADMIN_PASSWORD ]]; then
    say "${SENTRY_ADMIN_EMAIL}: exists (created by an earlier run); password unchanged"
    return
  fi
  local password=$SENTRY_ADMIN_PASSWORD
  if [[ -z $password ]]; then
    password=$(generate_secret)
    GENERATED_ADMIN_PASSWORD=$password
  fi
  # --force-update: a given password also resets an existing user's.
  sentry_compose run --rm -T web createuser --email "$SENTRY_ADMIN_EMAIL" --password "$password" \
    --superuser --no-input --force-update >/dev/null
  env_put SENTRY_ADMIN_EMAIL "$SENTRY_ADMIN_EMAIL"
  say "${SENTRY_ADMIN_EMAIL}: ready"
}
