#!/bin/sh
# The compose `replica` service (profile "replica"): a streaming replica of `db`, made
# once with pg_basebackup -R (a copy of the primary plus the settings to follow it) when
# its data directory is empty, then started as a hot standby that serves reads. The
# application reads from it with DATABASE_REPLICA_URL (backoffice/core/db/routers.py).
set -eu
PRIMARY_HOST=${PRIMARY_HOST:-db}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
  # The password travels in a file of mode 600 that only pg_basebackup and the
  # replica's walreceiver read (primary_conninfo names it, not the password).
  install -o postgres -g postgres -m 600 /dev/null /var/lib/postgresql/.pgpass
  printf '%s:5432:*:backoffice:%s\n' "$PRIMARY_HOST" "$(cat /run/secrets/postgres_password)" \
    > /var/lib/postgresql/.pgpass
  until su-exec postgres pg_isready -q -h "$PRIMARY_HOST" -U backoffice -d backoffice; do
    echo "replica: waiting for $PRIMARY_HOST"
    sleep 2
  done
  # -C -S: a replication slot on the primary keeps the WAL this replica has not
  # received yet (a replica down for long holds WAL on the primary: drop the slot
  # with pg_drop_replication_slot('replica_1') when retiring it).
  su-exec postgres pg_basebackup -h "$PRIMARY_HOST" -U backoffice -D "$PGDATA" \
    -R -X stream -C -S replica_1 --checkpoint=fast \
    -d "passfile=/var/lib/postgresql/.pgpass"
fi
exec docker-entrypoint.sh "$@"
