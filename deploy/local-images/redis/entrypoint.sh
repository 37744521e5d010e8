#!/bin/sh
# As the official image: redis-server answers other hosts of its network (protected mode off);
# anything else runs as given.
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
