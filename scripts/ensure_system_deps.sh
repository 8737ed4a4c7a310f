#!/usr/bin/env bash
# Install what `make test` needs from Debian's packages when it is missing: the
# PostgreSQL server binaries, redis-server, Node.js for the TimescaleDB test server,
# Chromium for the browser tests, gcc for the compiled tree predictors, pgBackRest for
# the recovery drill. Only as root; otherwise say what is missing.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [ -n "${TEST_DATABASE_URL:-}" ] || missing+=(postgresql)
command -v redis-server >/dev/null || [ -n "${TEST_REDIS_URL:-}" ] || missing+=(redis-server)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v chromium >/dev/null || missing+=(chromium)
command -v runuser >/dev/null || missing+=(util-linux)
# Builds the compiled tree predictors of tests/models_registry/test_compile.py and others.
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
# Validates docker-compose.yml (tests/test_deploy_files.py); no engine is needed.
command -v docker-compose >/dev/null || missing+=(docker-compose)
# The point-in-time recovery drill and the backup figures (tests/ops/test_point_in_time_recovery.py).
command -v pgbackrest >/dev/null || missing+=(pgbackrest)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "make test needs: ${missing[*]} (install them, or run as root to install them)" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a cluster of its own; the suite starts throwaway
# clusters on free ports and needs none running.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null; then
  for cluster in /etc/postgresql/*/main; do
    [ -d "$cluster" ] || continue
    version=$(basename "$(dirname "$cluster")")
    pg_ctlcluster "$version" main stop 2>/dev/null || true
  done
fi
