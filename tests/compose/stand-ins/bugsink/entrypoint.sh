#!/usr/bin/env bash
# Set Bugsink up on SQLite (once per container) and serve it; the API token is left in /data/token.
set -euo pipefail
cd /data
if [[ ! -f bugsink_conf.py ]]; then
  bugsink-create-conf --template=local --port=8000 --host=0.0.0.0 --output-file bugsink_conf.py
  bugsink-manage migrate --no-input
  bugsink-manage migrate snappea --database=snappea --no-input
  DJANGO_SUPERUSER_USERNAME=admin DJANGO_SUPERUSER_EMAIL=admin@example.com \
    DJANGO_SUPERUSER_PASSWORD="$(head -c 24 /dev/urandom | base64)" bugsink-manage createsuperuser --noinput
  bugsink-manage create_auth_token | tail -n 1 >token
fi
exec env PYTHONPATH=/data gunicorn bugsink.wsgi --bind 0.0.0.0:8000 --workers 1 --threads 4
