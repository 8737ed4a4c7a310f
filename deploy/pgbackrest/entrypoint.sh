#!/bin/sh
# The compose `pgbackrest` service (profile "backup"): creates the stanza, checks that
# the database's WAL reaches the repository, takes a first full backup when the
# repository holds none, then runs the schedule (crontab) with crond. It shares the
# database's data volume and socket, and runs pgBackRest as the image's postgres user.
set -eu
as_postgres() { su-exec postgres "$@"; }

until as_postgres pg_isready -q -h /var/run/postgresql -U backoffice -d backoffice; do
  echo "pgbackrest: waiting for the database"
  sleep 2
done
as_postgres pgbackrest --stanza=backoffice stanza-create
as_postgres pgbackrest --stanza=backoffice check
if as_postgres pgbackrest --stanza=backoffice --output=json info | grep -q '"backup":\[\]'; then
  as_postgres pgbackrest --stanza=backoffice --type=full backup
fi
install -o root -g root -m 600 /etc/pgbackrest/crontab /etc/crontabs/postgres
# busybox crond: in the foreground, its log on stderr (the container's log).
exec crond -f -d 6
