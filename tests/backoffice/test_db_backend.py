"""The PostgreSQL backend: hypertables where TimescaleDB is installed, plain tables without.

The same tests run in both tiers with opposite expectations, so that a migration that
works on only one of them cannot pass unnoticed.
"""

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.test.utils import isolate_apps
from timescale.db.models.fields import TimescaleDateTimeField

from backoffice.core.db.operations import RunSQLIfTimescale

TIMESCALE_TIER_ONLY = pytest.mark.timescale


def make_model():
    with isolate_apps("backoffice"):

        class Reading(models.Model):
            taken_at = TimescaleDateTimeField(interval="1 day")
            value = models.IntegerField()

            class Meta:
                app_label = "backoffice"
                db_table = "backoffice_test_reading"

    return Reading


def primary_key_columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = %s::regclass AND i.indisprimary
            """,
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def indexed_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = %s::regclass
            """,
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def is_hypertable(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'",
        )
        if cursor.fetchone() is None:
            return False
        cursor.execute(
            "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
            [table],
        )
        return cursor.fetchone() is not None


@pytest.fixture
def reading_table(db):
    model = make_model()
    with connection.schema_editor() as editor:
        editor.create_model(model)
    yield model
    with connection.schema_editor() as editor:
        editor.delete_model(model)


def test_without_timescale_the_model_is_a_plain_table_with_its_primary_key(reading_table):
    table = reading_table._meta.db_table
    assert connection.timescale_installed is False
    assert not is_hypertable(table)
    assert primary_key_columns(table) == ["id"]


@TIMESCALE_TIER_ONLY
def test_with_timescale_the_model_is_a_hypertable_with_an_indexed_id(reading_table):
    table = reading_table._meta.db_table
    assert connection.timescale_installed is True
    assert is_hypertable(table)
    # django-timescaledb drops the key; the backend gives the column a plain index.
    assert primary_key_columns(table) == []
    assert "id" in indexed_columns(table)


def run_operation(operation):
    state = ProjectState()
    with connection.schema_editor() as editor:
        operation.database_forwards("backoffice", editor, state, state)


def table_exists(name: str) -> bool:
    return name in connection.introspection.table_names()


def test_timescale_only_sql_is_a_no_op_without_the_extension(db):
    run_operation(RunSQLIfTimescale("CREATE TABLE backoffice_ts_only (x int)"))
    assert not table_exists("backoffice_ts_only")


@TIMESCALE_TIER_ONLY
def test_timescale_only_sql_runs_with_the_extension(db):
    run_operation(RunSQLIfTimescale("CREATE TABLE backoffice_ts_only (x int)"))
    assert table_exists("backoffice_ts_only")


@TIMESCALE_TIER_ONLY
def test_the_extension_is_installed_in_the_test_database(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        (version,) = cursor.fetchone()
    major = int(version.split(".")[0])
    assert major >= 2


@pytest.mark.smoke
def test_every_migration_on_disk_is_applied(db):
    # In each tier: the suite's database was built by running every migration on it.
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    loader = MigrationLoader(connection)
    assert set(loader.disk_migrations) <= set(loader.applied_migrations)


@TIMESCALE_TIER_ONLY
def test_every_migration_applies_on_timescale(db):
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    loader = MigrationLoader(connection)
    assert set(loader.disk_migrations) <= set(loader.applied_migrations)
    assert connection.timescale_installed


@pytest.mark.django_db
def test_the_applications_sessions_run_without_jit():
    """JIT compiled the chunked aggregates of a hypertable for seconds (bench/jit.py: 8.5 of
    8.8 s); the application's connections turn it off (DB_JIT=1 turns it back on)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
