"""Checks of the deployment files: docker-compose.yml, Dockerfile, scripts/gen_secrets.sh.

No database and no Docker engine are needed. When Debian's ``docker-compose`` (1.29.2) is on
PATH the compose file is also validated by it (``config`` works without an engine).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.smoke

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
GITIGNORE = REPO_ROOT / ".gitignore"
GEN_SECRETS = REPO_ROOT / "scripts" / "gen_secrets.sh"

SECRET_NAMES = ("postgres_password", "django_secret_key", "redis_password")
SECRETISH_KEY = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$")
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)


# --- helpers ----------------------------------------------------------------------------


def load_compose() -> dict:
    with COMPOSE_FILE.open() as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def environment_of(service: dict) -> dict[str, str | None]:
    """A service's environment as a dict, whichever of the two compose syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        out: dict[str, str | None] = {}
        for item in env:
            key, sep, value = str(item).partition("=")
            out[key] = value if sep else None
        return out
    assert isinstance(env, dict), f"environment must be a list or mapping, got {env!r}"
    return {str(k): (None if v is None else str(v)) for k, v in env.items()}


def secret_names_of(service: dict) -> list[str]:
    names = []
    for entry in service.get("secrets") or []:
        names.append(entry["source"] if isinstance(entry, dict) else str(entry))
    return names


def depends_on_conditions(service: dict) -> dict[str, str | None]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax carries no condition
        return {str(name): None for name in deps}
    return {str(name): (spec or {}).get("condition") for name, spec in deps.items()}


def secret_value_problem(key: str, value: object) -> str | None:
    """Why ``key: value`` looks like a secret written in clear, or None if it does not."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value)
    if URL_WITH_PASSWORD.search(text):
        return f"{key} holds a URL with a password in it"
    if not SECRETISH_KEY.search(key):
        return None
    if INTERPOLATION.match(text):
        return None
    if key.upper().endswith("_FILE") and text.startswith("/run/secrets/"):
        return None
    return f"{key}={text!r} looks like a secret value; use a *_FILE path or ${{...}}"


def walk_for_secrets(node: object, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(value, (dict, list)):
                walk_for_secrets(value, sub, problems)
            else:
                problem = secret_value_problem(str(key), value)
                if problem:
                    problems.append(f"{sub}: {problem}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            sub = f"{path}[{index}]"
            if isinstance(item, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", item):
                key, _, value = item.partition("=")  # list-style environment entry
                problem = secret_value_problem(key, value)
            elif isinstance(item, (dict, list)):
                walk_for_secrets(item, sub, problems)
                continue
            else:
                problem = secret_value_problem("", item)
            if problem:
                problems.append(f"{sub}: {problem}")


def healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def run_gen_secrets(target: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_FILE_MODE"}
    env.update(extra_env)
    return subprocess.run(
        ["bash", str(GEN_SECRETS), str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_has_the_six_services_and_no_version_key():
    data = load_compose()
    assert "version" not in data, "the compose spec has no `version:` key; drop it"
    assert set(data.get("services") or {}) >= {"db", "redis", "migrate", "web", "worker", "beat"}


def test_compose_runs_the_job_engine_beside_web_on_the_same_spool():
    services = load_compose()["services"]
    worker, beat = services["worker"], services["beat"]
    assert "worker" in " ".join(worker["command"]) and "beat" in " ".join(beat["command"])
    assert "spool:/app/var/spool" in [str(v) for v in worker.get("volumes") or []]
    for service in (worker, beat):
        assert environment_of(service) == environment_of(services["web"])
        assert set(secret_names_of(service)) >= set(SECRET_NAMES)
        assert depends_on_conditions(service).get("migrate") == "service_completed_successfully"


# The TimescaleDB the tests and benchmarks run (tests/tsdb: 2.23 on PostgreSQL 17.5; the
# native builds of bench/: 2.23.0), as its official image tag.
TESTED_TIMESCALEDB_IMAGE = "timescale/timescaledb:2.23.0-pg17"
DB_DOCKERFILE = REPO_ROOT / "deploy" / "db" / "Dockerfile"
PGBACKREST_CONF = REPO_ROOT / "deploy" / "pgbackrest" / "pgbackrest.conf"
PROFILES = ((), ("backup",), ("replica",), ("backup", "replica"))


def test_compose_db_is_timescaledb_with_password_from_a_file():
    """Issue 30: the compose file ran TimescaleDB 2.17.2 on PostgreSQL 16 while the
    tests run 2.23 on 17. It builds the tested image, with pgBackRest added."""
    db = load_compose()["services"]["db"]
    assert db["build"]["dockerfile"] == "deploy/db/Dockerfile"
    assert db["build"]["args"]["TIMESCALEDB_IMAGE"] == TESTED_TIMESCALEDB_IMAGE
    dockerfile = DB_DOCKERFILE.read_text()
    assert f"ARG TIMESCALEDB_IMAGE={TESTED_TIMESCALEDB_IMAGE}" in dockerfile
    assert "FROM ${TIMESCALEDB_IMAGE}" in dockerfile and "pgbackrest" in dockerfile
    env = environment_of(db)
    assert env.get("POSTGRES_PASSWORD_FILE") == "/run/secrets/postgres_password"
    # The image refuses to start when both VAR and VAR_FILE are set.
    assert "POSTGRES_PASSWORD" not in env
    assert "postgres_password" in secret_names_of(db)
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db.get("volumes") or [])


def test_compose_images_are_pinned():
    services = load_compose()["services"]
    for name in ("db", "redis"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image!r}"
    assert services["redis"]["image"].startswith("redis:")


def test_compose_every_referenced_secret_is_declared_with_a_file_under_secrets_dir():
    data = load_compose()
    declared = data.get("secrets") or {}
    referenced = set()
    for name, service in data["services"].items():
        for secret in secret_names_of(service):
            referenced.add(secret)
            assert secret in declared, f"service {name} uses undeclared secret {secret}"
    assert referenced >= set(SECRET_NAMES)
    for secret, spec in declared.items():
        assert (spec or {}).get("file") == f"./secrets/{secret}", f"{secret}: {spec!r}"


def test_compose_app_services_read_every_secret_from_files():
    services = load_compose()["services"]
    for name in ("migrate", "web", "worker", "beat"):
        env = environment_of(services[name])
        assert set(secret_names_of(services[name])) >= set(SECRET_NAMES), name
        assert env.get("DJANGO_SECRET_KEY_FILE") == "/run/secrets/django_secret_key"
        assert env.get("POSTGRES_PASSWORD_FILE") == "/run/secrets/postgres_password"
        assert env.get("REDIS_PASSWORD_FILE") == "/run/secrets/redis_password"
        assert env.get("DJANGO_DEBUG") == "0"
        assert env.get("DATABASE_URL", "").startswith("postgres://backoffice@db:5432/")
        assert env.get("REDIS_URL", "").startswith("redis://redis:6379/")
        for var in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
            assert var not in env, f"{name} sets {var} in clear"
    assert environment_of(services["migrate"]) == environment_of(services["web"])


def test_compose_redis_password_comes_from_the_secret():
    redis = load_compose()["services"]["redis"]
    assert "redis_password" in secret_names_of(redis)
    command = redis.get("command")
    command = " ".join(command) if isinstance(command, list) else str(command)
    assert "--requirepass" in command
    assert "/run/secrets/redis_password" in command
    # `$$` in compose is a literal `$` for the container's shell.
    assert "$$(cat /run/secrets/redis_password)" in command
    check = healthcheck_text(redis)
    assert "REDISCLI_AUTH" in check and "/run/secrets/redis_password" in check
    assert " -a " not in check, "redis-cli -a puts the password on the command line"


def test_compose_start_order_and_healthchecks():
    services = load_compose()["services"]
    web_deps = depends_on_conditions(services["web"])
    assert web_deps.get("db") == "service_healthy"
    assert web_deps.get("redis") == "service_healthy"
    assert web_deps.get("migrate") == "service_completed_successfully"
    migrate_deps = depends_on_conditions(services["migrate"])
    assert migrate_deps.get("db") == "service_healthy"
    assert migrate_deps.get("redis") == "service_healthy"
    assert str(services["migrate"].get("restart")) == "no"
    for name in ("db", "redis", "web"):
        assert healthcheck_text(services[name]).strip(), f"{name} has no healthcheck"
    assert "pg_isready" in healthcheck_text(services["db"])
    assert "/readyz" in healthcheck_text(services["web"])
    assert "8000:8000" in [str(p) for p in services["web"].get("ports") or []]


def test_compose_trusts_its_proxy_and_the_readme_says_so():
    """Issue 26, item 9: without TRUSTED_PROXIES every client behind the proxy shared one
    address, and a stranger's 5 wrong passwords locked the real user out. The compose
    file trusts the gateway of its own network, fixed here, where a proxy on the host
    reaches `web` from; gunicorn trusts the same for X-Forwarded-Proto."""
    import ipaddress

    data = load_compose()
    (ipam,) = data["networks"]["default"]["ipam"]["config"]
    subnet, gateway = ipaddress.ip_network(ipam["subnet"]), ipaddress.ip_address(ipam["gateway"])
    assert gateway in subnet
    env = environment_of(data["services"]["web"])
    for name in ("TRUSTED_PROXIES", "GUNICORN_FORWARDED_ALLOW_IPS"):
        match = INTERPOLATION.match(env[name])
        default = env[name].split(":-", 1)[1].rstrip("}") if match else env[name]
        assert default == str(gateway), (name, env[name])
    readme = (REPO_ROOT / "README.md").read_text()
    for variable in ("TRUSTED_PROXIES", "ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT"):
        assert f"| `{variable}` |" in readme, f"README's table does not list {variable}"


def test_compose_named_volumes_are_declared():
    data = load_compose()
    declared = set(data.get("volumes") or {})
    assert declared >= {"pgdata", "redisdata", "models", "spool"}
    for name, service in data["services"].items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    web_volumes = [str(v) for v in data["services"]["web"].get("volumes") or []]
    assert "models:/app/var/models" in web_volumes
    assert "spool:/app/var/spool" in web_volumes


def test_compose_holds_no_secret_values():
    problems: list[str] = []
    walk_for_secrets(load_compose(), "", problems)
    assert not problems, "\n".join(problems)


def test_secret_detector_catches_clear_text_secrets():
    """The detector above must be able to fail."""
    bad = {
        "services": {
            "x": {
                "environment": ["POSTGRES_PASSWORD=hunter2", "OK=1"],
                "command": "run --url postgres://u:pw@db/x",
            },
            "y": {"environment": {"DJANGO_SECRET_KEY": "abc", "API_KEY_FILE": "/etc/key"}},
        }
    }
    problems: list[str] = []
    walk_for_secrets(bad, "", problems)
    text = "\n".join(problems)
    assert "POSTGRES_PASSWORD" in text
    assert "DJANGO_SECRET_KEY" in text
    assert "API_KEY_FILE" in text
    assert "URL with a password" in text
    ok: list[str] = []
    walk_for_secrets({"e": {"A_PASSWORD_FILE": "/run/secrets/a", "B_KEY": "${B_KEY}"}}, "", ok)
    assert ok == []


def command_text(service: dict) -> str:
    command = service.get("command") or []
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_db_archives_every_wal_segment_with_pgbackrest():
    import configparser

    services = load_compose()["services"]
    command = command_text(services["db"])
    assert "archive_mode=on" in command and "wal_level=replica" in command
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(PGBACKREST_CONF)
    (stanza,) = [name for name in conf.sections() if name != "global"]
    assert f"archive_command=pgbackrest --stanza={stanza} archive-push %p" in command
    assert conf[stanza]["pg1-path"] == "/var/lib/postgresql/data"
    assert environment_of(services["web"])["PGBACKREST_STANZA"] == stanza
    # The repository: one volume, written by db (WAL) and pgbackrest (backups), read by
    # the worker (pgbackrest info) only.
    assert "pgbackrest:/var/lib/pgbackrest" in services["db"]["volumes"]
    assert "pgbackrest:/var/lib/pgbackrest" in services["pgbackrest"]["volumes"]
    assert "pgbackrest:/var/lib/pgbackrest:ro" in services["worker"]["volumes"]
    crontab = (REPO_ROOT / "deploy" / "pgbackrest" / "crontab").read_text()
    assert f"--stanza={stanza} --type=full backup" in crontab
    assert f"--stanza={stanza} --type=diff backup" in crontab


def test_compose_backup_and_replica_are_optional_profiles():
    services = load_compose()["services"]
    assert services["pgbackrest"]["profiles"] == ["backup"]
    assert services["replica"]["profiles"] == ["replica"]
    for name in ("db", "redis", "migrate", "web", "worker", "beat"):
        assert "profiles" not in services[name], f"{name} must run in every deployment"
    for name in ("pgbackrest", "replica"):
        assert services[name]["image"] == services["db"]["image"], name
        assert depends_on_conditions(services[name]) == {"db": "service_healthy"}
    assert "replica-entrypoint" in services["replica"]["entrypoint"][0]
    assert "hot_standby=on" in command_text(services["replica"])
    # No replica unless one is named: the default deployment reads from db.
    assert environment_of(services["web"])["DATABASE_REPLICA_URL"] == "${DATABASE_REPLICA_URL:-}"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not on PATH")
@pytest.mark.parametrize("profiles", PROFILES, ids=lambda p: "+".join(p) or "default")
def test_compose_validates_with_each_profile(tmp_path, profiles):
    """Debian's docker-compose 1.29.2 (profiles since 1.28) reads the file with each
    profile: the services it would run, and the file valid."""
    shutil.copy2(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy2(DOCKERFILE, tmp_path / "Dockerfile")
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    assert run_gen_secrets(tmp_path / "secrets").returncode == 0
    flags = [word for profile in profiles for word in ("--profile", profile)]
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *flags, "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose {' '.join(flags)} config -q:\n{result.stderr}"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not on PATH")
def test_compose_file_validates_with_docker_compose(tmp_path):
    shutil.copy2(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy2(DOCKERFILE, tmp_path / "Dockerfile")
    result = run_gen_secrets(tmp_path / "secrets")
    assert result.returncode == 0, result.stderr
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GUNICORN_", "OMP_", "BACKOFFICE_", "COMPOSE_", "TRUSTED_"))
    }
    quiet = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert quiet.returncode == 0, f"docker-compose config -q failed:\n{quiet.stderr}"

    # The resolved file: interpolation defaults applied, secrets resolved to files.
    full = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert full.returncode == 0, full.stderr
    resolved = yaml.safe_load(full.stdout)
    web_env = environment_of(resolved["services"]["web"])
    assert web_env["GUNICORN_WORKERS"] == "3"
    assert web_env["TRUSTED_PROXIES"] == web_env["GUNICORN_FORWARDED_ALLOW_IPS"] == "172.30.0.1"
    assert web_env["GUNICORN_THREADS"] == "1"
    for name in SECRET_NAMES:
        assert Path(resolved["secrets"][name]["file"]) == tmp_path / "secrets" / name


# --- scripts/gen_secrets.sh -------------------------------------------------------------


def test_gen_secrets_creates_strong_private_files_once(tmp_path):
    target = tmp_path / "secrets"
    first = run_gen_secrets(target)
    assert first.returncode == 0, first.stderr

    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    values = {}
    for name in SECRET_NAMES:
        path = target / name
        assert path.is_file(), f"{name} not created"
        mode = stat.S_IMODE(path.stat().st_mode)
        # Never writable by group/others (the 700 directory keeps other host users out;
        # see the script for why the files themselves are readable).
        assert mode & 0o022 == 0, f"{name} mode {oct(mode)}"
        assert mode & 0o600 == 0o600, f"{name} mode {oct(mode)}"
        raw = path.read_bytes()
        assert not raw.endswith((b"\n", b"\r")), f"{name} ends with a newline"
        value = raw.decode()
        assert len(value) >= 40, f"{name} is only {len(value)} characters"
        assert len(set(value)) >= 10, f"{name} is not random enough"
        values[name] = value
        assert name in first.stdout, f"{name} was created but not reported"
    assert len(set(values.values())) == len(SECRET_NAMES), "secrets are not distinct"
    # Django's check --deploy wants 50+ characters for SECRET_KEY.
    assert len(values["django_secret_key"]) >= 50

    before = {name: (target / name).stat() for name in SECRET_NAMES}
    second = run_gen_secrets(target)
    assert second.returncode == 0, second.stderr
    for name in SECRET_NAMES:
        assert (target / name).read_text() == values[name], f"{name} was overwritten"
        assert (target / name).stat().st_mtime_ns == before[name].st_mtime_ns
    assert not any(name in second.stdout for name in SECRET_NAMES), second.stdout
    assert second.stderr == "", second.stderr

    for output in (first.stdout, first.stderr, second.stdout, second.stderr):
        for value in values.values():
            assert value not in output, "gen_secrets.sh printed a secret value"


def test_gen_secrets_fills_only_missing_files(tmp_path):
    target = tmp_path / "secrets"
    target.mkdir(mode=0o755)
    (target / "redis_password").write_text("kept-as-is")
    result = run_gen_secrets(target)
    assert result.returncode == 0, result.stderr
    assert (target / "redis_password").read_text() == "kept-as-is"
    assert "redis_password" not in result.stdout
    assert (target / "postgres_password").is_file()
    assert (target / "django_secret_key").is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700, "existing dir was not tightened"


def test_gen_secrets_honours_owner_only_mode(tmp_path):
    target = tmp_path / "secrets"
    result = run_gen_secrets(target, SECRET_FILE_MODE="600")
    assert result.returncode == 0, result.stderr
    for name in SECRET_NAMES:
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o600
    for unsafe in ("666", "620", "602"):
        refused = run_gen_secrets(tmp_path / "other", SECRET_FILE_MODE=unsafe)
        assert refused.returncode != 0, f"mode {unsafe} was accepted"
        assert not (tmp_path / "other" / "postgres_password").exists()


def test_secrets_dir_is_ignored_by_git_and_docker():
    assert "secrets/" in GITIGNORE.read_text().splitlines()
    dockerignore = DOCKERIGNORE.read_text().splitlines()
    assert "secrets/" in dockerignore
    assert ".git" in dockerignore
    assert ".venv" in dockerignore


# --- Dockerfile -------------------------------------------------------------------------


def test_dockerfile_runs_as_non_root_with_healthcheck():
    instructions = dockerfile_instructions()
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms, "no FROM"
    text = DOCKERFILE.read_text()
    assert "python:3.11-slim-bookworm" in text

    # The last stage is what runs: its last USER must not be root.
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    users = [args for word, args in instructions[last_from:] if word == "USER"]
    assert users, "the final stage has no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}, users[-1]

    checks = [args for word, args in instructions[last_from:] if word == "HEALTHCHECK"]
    assert checks and "NONE" not in checks[-1].upper()
    assert "/healthz" in checks[-1] and "urllib" in checks[-1]

    assert ("EXPOSE", "8000") in instructions
    cmd = [args for word, args in instructions if word == "CMD"][-1]
    assert "gunicorn" in cmd and "backoffice/gunicorn.conf.py" in cmd
    assert "backoffice.wsgi:application" in cmd


def test_dockerfile_bakes_in_no_secret():
    instructions = dockerfile_instructions()
    for word, args in instructions:
        if word in {"ENV", "ARG", "LABEL"}:
            assert "SECRET_KEY" not in args.upper(), f"{word} {args}"
            assert "PASSWORD" not in args.upper(), f"{word} {args}"
    runs = [args for word, args in instructions if word == "RUN"]
    collect = [r for r in runs if "collectstatic" in r]
    assert collect, "collectstatic is not run at build time"
    # The throwaway key is scoped to that one RUN line.
    assert "DJANGO_SECRET_KEY=" in collect[0]
    assert not any(word == "COPY" and "secrets" in args for word, args in instructions)
    env_lines = " ".join(args for word, args in instructions if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env_lines and "PYTHONDONTWRITEBYTECODE=1" in env_lines


def test_dockerfile_prepares_writable_var_dirs():
    runs = " ".join(args for word, args in dockerfile_instructions() if word == "RUN")
    assert "/app/var/models" in runs and "/app/var/spool" in runs
    assert re.search(r"chown\s+(-R\s+)?app(:app)?\s+/app/var", runs), runs
    assert "libgomp1" in runs


def test_the_migrate_service_bootstraps_and_requires_timescaledb():
    services = load_compose()["services"]
    command = services["migrate"]["command"]
    text = " ".join(command) if isinstance(command, list) else command
    assert "manage.py bootstrap" in text and "--require-timescale" in text


def test_compose_worker_image_has_the_compiler_for_background_compiles():
    """The job engine compiles registered tree models (models_registry.auto_compile):
    its image is built with gcc; web serves the libraries and needs none."""
    services = load_compose()["services"]
    assert services["worker"]["build"]["args"]["WITH_COMPILER"] == "1"
    assert "WITH_COMPILER" not in str(services["web"].get("build", ""))
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert 'if [ "$WITH_COMPILER" = "1" ]' in dockerfile and "gcc" in dockerfile
