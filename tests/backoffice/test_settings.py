"""Settings from the environment: secrets, files, and one clear line on bad input."""

import secrets
from pathlib import Path

import pytest

from backoffice.core import env
from tests.support import clean_environment, manage

pytestmark = pytest.mark.smoke

STRONG_KEY = "k" + secrets.token_urlsafe(60)


def production_env(**overrides):
    """DEBUG off, a PostgreSQL URL that is never dialled by `check`."""
    base = {
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": "postgres://backoffice@127.0.0.1:9/backoffice",
    }
    base.update(overrides)
    return clean_environment(**base)


def assert_one_clear_line(result, *expected):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_it_refuses_to_start_without_the_secret_key_naming_both_variables():
    result = manage("check", env=production_env())
    assert_one_clear_line(result, "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE")
    assert result.returncode == 2


def test_it_reads_the_secret_key_from_a_file_and_strips_the_newline(tmp_path):
    key_file = tmp_path / "django_secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(len(settings.SECRET_KEY))",
        env=production_env(DJANGO_SECRET_KEY_FILE=str(key_file)),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(len(STRONG_KEY))


def test_it_names_a_missing_secret_file(tmp_path):
    missing = tmp_path / "nope"
    result = manage("check", env=production_env(DJANGO_SECRET_KEY_FILE=str(missing)))
    assert_one_clear_line(result, "DJANGO_SECRET_KEY_FILE", str(missing), "does not exist")


def test_it_names_an_empty_secret_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = manage("check", env=production_env(DJANGO_SECRET_KEY_FILE=str(empty)))
    assert_one_clear_line(result, "DJANGO_SECRET_KEY_FILE", str(empty), "is empty")


def test_it_names_an_unreadable_secret_file(tmp_path):
    # A directory cannot be read as a file, even by root (chmod 000 would not stop root).
    result = manage("check", env=production_env(DJANGO_SECRET_KEY_FILE=str(tmp_path)))
    assert_one_clear_line(result, "DJANGO_SECRET_KEY_FILE", "cannot be read")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u@h/db", "scheme 'mysql'"),
        ("postgres://u@h:notaport/db", "malformed"),
        ("postgres://u@h:5432/", "needs a host and a database name"),
    ],
)
def test_it_refuses_a_malformed_database_url(url, reason):
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=STRONG_KEY, DATABASE_URL=url))
    assert_one_clear_line(result, "DATABASE_URL", reason)


def test_production_needs_a_database_url():
    env_ = clean_environment(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG_KEY)
    result = manage("check", env=env_)
    assert_one_clear_line(result, "DATABASE_URL is not set")


def test_an_unreachable_database_at_start_up_is_one_line():
    result = manage(
        "migrate",
        "--noinput",
        env=production_env(DJANGO_SECRET_KEY=STRONG_KEY, POSTGRES_PASSWORD="pw-never-shown"),
    )
    assert_one_clear_line(result, "database unreachable", "127.0.0.1")
    assert result.returncode == 3
    assert "pw-never-shown" not in result.stderr + result.stdout


def test_a_bad_boolean_is_named():
    result = manage("check", env=production_env(DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_DEBUG="maybe"))
    assert_one_clear_line(result, "DJANGO_DEBUG='maybe'", "not a boolean")


def test_the_postgres_password_fills_a_url_without_one():
    config = env.database_config(
        "postgres://trader@db.internal:5433/desk",
        password="p@ss:w/rd",
        engine="backoffice.core.db.backends.postgresql",
    )
    assert config["PASSWORD"] == "p@ss:w/rd"
    assert (config["USER"], config["HOST"], config["PORT"], config["NAME"]) == (
        "trader",
        "db.internal",
        5433,
        "desk",
    )


def test_a_url_with_its_own_password_keeps_it():
    config = env.database_config(
        "postgres://trader:inurl@db:5432/desk", password="other", engine="x"
    )
    assert config["PASSWORD"] == "inurl"


def test_the_redis_password_goes_into_the_url():
    assert env.redis_url("redis://cache:6379/1", password="s/cret") == (
        "redis://:s%2Fcret@cache:6379/1"
    )
    assert env.redis_url("redis://:own@cache:6379/1", password="x") == "redis://:own@cache:6379/1"


def test_the_file_wins_over_the_variable(tmp_path: Path):
    secret_file = tmp_path / "s"
    secret_file.write_text("from-file\n")
    value = env.secret(
        "SOME_SECRET",
        required=True,
        environ_={"SOME_SECRET": "from-env", "SOME_SECRET_FILE": str(secret_file)},
    )
    assert value == "from-file"


def test_without_database_url_the_embedded_default_is_sqlite_under_var():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], s.CACHES['default']['BACKEND'])",
        env=clean_environment(DJANGO_DEBUG="1"),
    )
    assert result.returncode == 0, result.stderr
    engine, name, cache = result.stdout.strip().splitlines()[-1].split()
    assert engine == "django.db.backends.sqlite3"
    assert name.endswith("var/backoffice.sqlite3")
    assert cache.endswith("LocMemCache")
