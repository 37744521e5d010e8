#!/bin/sh
# Container entrypoint: apply migrations (web only; MIGRATE=0 skips), then run the given command.
set -e
if [ "${MIGRATE:-1}" = "1" ]; then
  python manage.py migrate --noinput
  # The web container starts first: its metrics files from an earlier run are stale.
  rm -rf "${PROMETHEUS_MULTIPROC_DIR:-/app/var/metrics}"/*
fi
exec "$@"
