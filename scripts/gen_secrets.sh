#!/usr/bin/env bash
# Create the Docker secrets docker-compose.yml expects, once.
#
#   scripts/gen_secrets.sh [TARGET_DIR]     (default: <repo root>/secrets)
#
# Each missing file gets a random 64-character alphanumeric value (about 380 bits), written
# without a trailing newline. Existing files are never overwritten, so running it again
# changes nothing. It prints only the names of the files it creates, never their values.
# Alphanumeric values need no quoting in URLs, shells or redis-server's command line, and are
# long enough for Django's SECRET_KEY check (50+ characters).
#
# Permissions: the directory is 700, which is what keeps other host users out. The files are
# 644 on purpose: outside swarm, Compose bind-mounts file secrets with their host owner and
# mode (a secret's uid/gid/mode are ignored), and the web container runs as `app` (uid 10001),
# which could not read a 600 file owned by the deploying user. Set SECRET_FILE_MODE=600 if the
# containers that read the secrets run as the files' owner.
set -euo pipefail

SECRET_NAMES=(postgres_password django_secret_key redis_password)
SECRET_LENGTH=64
SECRET_FILE_MODE="${SECRET_FILE_MODE:-644}"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${1:-$repo_root/secrets}"

if [[ ! "$SECRET_FILE_MODE" =~ ^0?[0-7][0145][0145]$ ]]; then
    echo "gen_secrets.sh: SECRET_FILE_MODE=$SECRET_FILE_MODE must be an octal mode with no group or other write bit" >&2
    exit 2
fi

umask 077

generate() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import secrets, string, sys
alphabet = string.ascii_letters + string.digits
sys.stdout.write("".join(secrets.choice(alphabet) for _ in range(int(sys.argv[1]))))' "$SECRET_LENGTH"
    elif command -v openssl >/dev/null 2>&1; then
        # 192 random bytes -> 256 base64 characters, of which about 250 survive the filter.
        local raw
        raw="$(openssl rand -base64 192 | tr -dc 'A-Za-z0-9')"
        printf '%s' "${raw:0:$SECRET_LENGTH}"
    else
        echo "gen_secrets.sh: need python3 or openssl to generate secrets" >&2
        return 1
    fi
}

mkdir -p -- "$target_dir"
chmod 700 -- "$target_dir"

for name in "${SECRET_NAMES[@]}"; do
    path="$target_dir/$name"
    if [[ -e "$path" ]]; then
        continue
    fi
    value="$(generate)"
    if [[ ${#value} -lt $SECRET_LENGTH ]]; then
        echo "gen_secrets.sh: could not generate a value for $name" >&2
        exit 1
    fi
    # noclobber: the redirection fails rather than overwrite a file created meanwhile.
    if ! (set -o noclobber; printf '%s' "$value" > "$path") 2>/dev/null; then
        echo "gen_secrets.sh: $path appeared meanwhile; left as it is" >&2
        continue
    fi
    chmod "$SECRET_FILE_MODE" -- "$path"
    echo "created $path"
done
