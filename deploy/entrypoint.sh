#!/bin/sh
# Container entrypoint: apply migrations (web only; MIGRATE=0 skips), then run the given command.
set -e
if [ "${MIGRATE:-1}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
