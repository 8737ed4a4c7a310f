"""Backup-and-restore drill on the real PostgreSQL of the test run: every row equal."""

import io
from datetime import UTC, datetime

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from desk.services import idea_submit, risk_config_update
from journal.write.capture import record_trades
from tests.desk.conftest import idea
from tests.journal.conftest import trade_data


def dsn(database: str) -> str:
    s = connection.settings_dict
    return (
        f"host={s['HOST']} port={s['PORT']} user={s['USER']} password={s['PASSWORD']} "
        f"dbname={database}"
    )


def table_digests(database: str) -> dict[str, tuple[int, str]]:
    """(rows, md5 of every row in order) for every table of the public schema."""
    with psycopg.connect(dsn(database)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        digest = (
            "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            'FROM "{}" t'
        )
        # Table names come from the catalog, not from input.
        return {table: conn.execute(digest.format(table)).fetchone() for table in tables}


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_every_row_equal(tmp_path, settings):
    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    (settings.MODEL_STORAGE_DIR / "ab").mkdir(parents=True)
    artifact = settings.MODEL_STORAGE_DIR / "ab" / "abcdef.json"
    artifact.write_bytes(b'{"learner": "a model artifact"}')
    record_trades([trade_data() for _ in range(50)])
    risk_config_update(
        changes={"ai_trading_enabled": True, "watchlist": ["EURUSD"]}, actor="drill", reason="drill"
    )
    idea_submit(idea=idea(), actor="drill")

    backup_dir = tmp_path / "backup"
    call_command("backup", str(backup_dir), stdout=io.StringIO())
    restored_models = tmp_path / "restored-models"
    target = f"restore_drill_{datetime.now(UTC):%H%M%S%f}"
    try:
        call_command(
            "restore",
            str(backup_dir),
            "--database",
            target,
            "--models-dir",
            str(restored_models),
            stdout=io.StringIO(),
        )
        original = table_digests(connection.settings_dict["NAME"])
        restored = table_digests(target)
        assert original == restored
        assert original["journal_trade"][0] == 50
        assert original["desk_decision"][0] >= 2
        assert (restored_models / "ab" / "abcdef.json").read_bytes() == artifact.read_bytes()
        with psycopg.connect(dsn(target)) as conn, pytest.raises(psycopg.Error):
            conn.execute("DELETE FROM desk_decision")  # the trigger came back too
    finally:
        with psycopg.connect(dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}"')


@pytest.mark.django_db
def test_a_tampered_backup_is_refused(tmp_path):
    backup_dir = tmp_path / "backup"
    call_command("backup", str(backup_dir), stdout=io.StringIO())
    with (backup_dir / "database.dump").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(CommandError, match="does not match its recorded sha256"):
        call_command("restore", str(backup_dir), "--database", "never_made")


@pytest.mark.django_db
def test_restore_refuses_an_existing_database(tmp_path):
    backup_dir = tmp_path / "backup"
    call_command("backup", str(backup_dir), stdout=io.StringIO())
    with pytest.raises(CommandError, match="exists already"):
        call_command("restore", str(backup_dir), "--database", connection.settings_dict["NAME"])
