#!/bin/sh
# Container entrypoint: run the given command. Migrations are their own one-off run
# (`migrate` in docker-compose.yml, the migrate task on ECS), never part of a replica's start-up,
# where two replicas would race; MIGRATE=1 still migrates first, for a single container.
set -e
if [ "${MIGRATE:-0}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
