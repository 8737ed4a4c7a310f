"""`check --deploy` in the production configuration, secrets given only as files."""

import secrets

import pytest
from django.db import connection

from tests.support import clean_environment, manage


@pytest.fixture
def production_files(tmp_path, django_db_setup):
    settings_dict = connection.settings_dict
    key = tmp_path / "django_secret_key"
    key.write_text(secrets.token_urlsafe(64) + "\n")
    password = tmp_path / "postgres_password"
    password.write_text(settings_dict["PASSWORD"] + "\n")
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
        f"{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    return clean_environment(
        DJANGO_DEBUG="0",
        DATABASE_URL=url,
        DJANGO_SECRET_KEY_FILE=str(key),
        POSTGRES_PASSWORD_FILE=str(password),
    )


def test_check_deploy_says_no_issues_with_secrets_only_as_files(production_files):
    result = manage("check", "--deploy", "--database", "default", env=production_files)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_names_the_missing_secret(production_files):
    env = dict(production_files)
    del env["DJANGO_SECRET_KEY_FILE"]
    result = manage("check", "--deploy", env=env)
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY / DJANGO_SECRET_KEY_FILE" in result.stderr or (
        "DJANGO_SECRET_KEY" in result.stderr and "DJANGO_SECRET_KEY_FILE" in result.stderr
    )


def test_a_wrong_database_password_is_one_line_without_the_password(production_files, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password-4711")
    env = {**production_files, "POSTGRES_PASSWORD_FILE": str(wrong)}
    result = manage("migrate", "--noinput", env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("database unreachable:")
    assert "password authentication failed" in result.stderr
    assert "not-the-password-4711" not in result.stderr
