"""Personas and factories of the journal's tests."""

import itertools
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from rest_framework.test import APIClient

from apikeys.services import api_key_create

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The instant a test's clock stands at (frozen_now), far from the real date either way.
FROZEN_NOW = datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC)


def trade_data(**overrides) -> dict:
    """A valid closed trade in the record format (strings, as a bot sends them)."""
    n = next(_ids)
    opened = overrides.pop("opened", BASE_TIME + timedelta(minutes=n))
    data = {
        "trade_id": f"T-{n:06d}",
        "executed_at": opened.isoformat(),
        "closed_at": (opened + timedelta(hours=1)).isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1.5",
        "entry_price": "1.08450",
        "exit_price": "1.08900",
        "fees": "1.20",
        "pnl": "66.30",
        "strategy": "breakout",
        "account": "desk-main",
        "signals": {"rsi": 31.5},
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def open_trade_data(**overrides) -> dict:
    return trade_data(**{"closed_at": None, "exit_price": None, "pnl": None, **overrides})


def existing_ideas(*pks: int) -> list:
    """Trade ideas of the desk with these ids (a trade may name only an idea that exists)."""
    from decimal import Decimal

    from desk.models import TradeIdea

    return [
        TradeIdea.objects.create(
            pk=pk,
            symbol="EURUSD",
            direction="long",
            entry_price=Decimal("1.0845"),
            confidence_score=Decimal("0.7"),
        )
        for pk in pks
    ]


@pytest.fixture
def bot(db):
    """A trading bot's API client: may record and read trades."""
    _, raw = api_key_create(name="bot-eurusd", scopes="trades:write,trades:read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def reader(db):
    """A reporting client: may read trades and metrics, not record them."""
    _, raw = api_key_create(name="report-reader", scopes="trades:read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def frozen_now():
    """Django's clock (django.utils.timezone.now, which capture reads) stands still at
    FROZEN_NOW, a month end: no test depends on today's date."""
    with mock.patch("django.utils.timezone.now", return_value=FROZEN_NOW):
        yield FROZEN_NOW


@pytest.fixture
def spool_dir(tmp_path, settings):
    settings.SPOOL_DIR = tmp_path / "spool"
    return settings.SPOOL_DIR


def spool_line(trade: dict) -> bytes:
    """One spool line as the spool writes it (json.dumps escapes NUL and surrogates)."""
    entry = {"batch": uuid.uuid4().hex, "spooled_at": time.time(), "trade": trade}
    return (json.dumps(entry, default=str) + "\n").encode()


def write_spool_file(directory, lines: list[bytes]):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"active-test-{uuid.uuid4().hex}.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def operator_member(django_user_model, username: str, *extra_permissions: str):
    """A staff user in the Operator group (made by its data migration, run again here:
    a transactional test empties the tables), with ``extra_permissions`` of the journal
    ("add_trade", "change_trade") granted to the user alone."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = import_module("journal.migrations.0006_operator_group")
    apps = MigrationLoader(connection).project_state(("journal", "0006_operator_group")).apps
    migration.create_group(apps, SimpleNamespace(connection=connection))
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operator"))
    for codename in extra_permissions:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="journal", codename=codename)
        )
    return user


@pytest.fixture
def operator(django_user_model):
    """An operator as the Operator group makes one: decides quarantined lines, may
    discard them, but stores no trade (no add_trade)."""
    return operator_member(django_user_model, "olga-operator")


@pytest.fixture
def trusted_operator(django_user_model):
    """An operator who was also given the API's permissions to store and close trades."""
    return operator_member(django_user_model, "otto-trusted", "add_trade", "change_trade")
