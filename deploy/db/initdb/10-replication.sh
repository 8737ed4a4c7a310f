#!/bin/sh
# Run by the image's entrypoint once, when it initialises an empty data directory: a
# streaming replica (the `replica` service, or another machine) may connect for
# replication with a password (the image's own rules cover ordinary connections only).
set -eu
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
