"""Personas and factories of the admin's tests.

- a reviewer: staff, in the Reviewer group (views trades, edits reviews);
- a risk manager: staff, in the Risk manager group;
- a model manager: staff, in the Model manager group (nothing of the journal);
- a bot: an active user who is not staff (never reaches the admin).
The groups are made by the journal's data migration (0003_groups); the personas run
its forward function again (idempotent), since a transactional test empties the tables.
"""

import importlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection

from journal.models import Trade
from journal.selectors import DISTINCT_FIELDS
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

groups_migration = importlib.import_module("journal.migrations.0003_groups")
PASSWORD = "correct-horse-battery-7"


@lru_cache(maxsize=1)
def migration_apps():
    """The historical models the groups migration runs with."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return loader.project_state(("journal", "0003_groups")).apps


def run_groups_migration(direction: str = "forward") -> None:
    editor = SimpleNamespace(connection=connection)  # the functions read only its alias
    function = (
        groups_migration.create_groups if direction == "forward" else groups_migration.remove_groups
    )
    function(migration_apps(), editor)


def staff_member(django_user_model, username: str, group: str | None):
    from django.contrib.auth.models import Group

    run_groups_migration()
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def _fresh_filter_choices():
    """The list filters cache their choices for a minute; each test starts without."""
    keys = [f"journal:distinct:{connection.alias}:{field}" for field in DISTINCT_FIELDS]
    keys += [f"journal:review-{field}:{connection.alias}" for field in ("tags", "mistakes")]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def reviewer(db, django_user_model):
    return staff_member(django_user_model, "rita-reviewer", "Reviewer")


@pytest.fixture
def risk_manager(db, django_user_model):
    return staff_member(django_user_model, "max-risk", "Risk manager")


@pytest.fixture
def model_manager(db, django_user_model):
    return staff_member(django_user_model, "mona-models", "Model manager")


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


def recent(days_ago: float, hour: int = 10) -> datetime:
    """A time ``days_ago`` days before today, at ``hour`` UTC."""
    today = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def make_trades(count: int, **overrides) -> list[Trade]:
    """``count`` closed trades, one a day going back from yesterday, stored as a bot would."""
    start = overrides.pop("start_days_ago", 1)
    records = [
        trade_data(opened=recent(start + n, hour=9 + n % 8), **overrides) for n in range(count)
    ]
    record_trades(records)
    ids = [r["trade_id"] for r in records]
    return list(Trade.objects.filter(trade_id__in=ids).order_by("-executed_at"))
