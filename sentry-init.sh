#!/usr/bin/env bash
# Prepares self-hosted Sentry for the stack and writes .env. Run it before the first `docker compose up`
# (`make up` does). It is idempotent: a second run keeps what exists and says so, and it is safe against a
# stack that is already up. Each step is a small script in sentry/init/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

# shellcheck source=sentry/init/lib.sh
source sentry/init/lib.sh
# shellcheck source=sentry/init/settings.sh
source sentry/init/settings.sh
# shellcheck source=sentry/init/check-prerequisites.sh
source sentry/init/check-prerequisites.sh
# shellcheck source=sentry/init/fetch-self-hosted.sh
source sentry/init/fetch-self-hosted.sh
# shellcheck source=sentry/init/run-installer.sh
source sentry/init/run-installer.sh
# shellcheck source=sentry/init/set-url-prefix.sh
source sentry/init/set-url-prefix.sh
# shellcheck source=sentry/init/create-admin-user.sh
source sentry/init/create-admin-user.sh
# shellcheck source=sentry/init/create-project.sh
source sentry/init/create-project.sh
# shellcheck source=sentry/init/write-env.sh
source sentry/init/write-env.sh

main() {
  parse_settings "$@"
  run_step "Check prerequisites" check_prerequisites
  run_step "Fetch getsentry/self-hosted ${SENTRY_SELF_HOSTED_VERSION}" fetch_self_hosted
  run_step "Run Sentry's installer (${SENTRY_PROFILE})" run_installer
  run_step "Set Sentry's URL prefix" set_url_prefix
  run_step "Create the admin user" create_admin_user
  run_step "Create the project, its DSN and Grafana's token" create_project
  run_step "Write .env" write_env
  print_summary
}

main "$@"
