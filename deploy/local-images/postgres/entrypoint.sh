#!/bin/sh
# On first start (an empty data directory): the cluster, its superuser POSTGRES_USER with
# POSTGRES_PASSWORD, the database POSTGRES_DB, logins by password from any host. Then the
# command, as the postgres user. PGPORT, when set, is the port.
set -eu
user=${POSTGRES_USER:-postgres}
database=${POSTGRES_DB:-$user}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" > "$password"
  chown postgres "$password"
  as_postgres initdb --username="$user" --pwfile="$password" --encoding=UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA"
  rm -f "$password"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$database" != postgres ]; then
    as_postgres createdb --username="$user" "$database"
  fi
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@"
