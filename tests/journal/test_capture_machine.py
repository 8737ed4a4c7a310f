"""A stateful property test of the journal's promise, against real PostgreSQL.

Hypothesis drives random sequences of: batches posted to POST /api/v1/trades (new open
and closed trades, closes of earlier opens, an open and its close in one batch, repeats,
batches with a hostile value), database outages and recoveries (a TCP proxy between
Django and PostgreSQL, cut and restored), corrupted lines landing in the spool, and the
periodic drain (journal.tasks.drain_spool, the job the beat runs). Whenever the database
is up and the spool has been drained:

- every trade answered 201 or 202 is stored exactly once, in its latest state;
- every refused batch got a 4xx naming a field of the hostile trade, and stored nothing;
- the spool holds nothing but quarantined lines, each byte for byte what was written.

`make test` runs 200 examples (HYPOTHESIS_MACHINE_EXAMPLES); `make fuzz` runs more.
"""

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection, connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from journal.models import Trade
from journal.tasks import drain_spool
from journal.write.capture import get_spool
from tests.tcp_proxy import TcpProxy

EXAMPLES = int(os.environ.get("HYPOTHESIS_MACHINE_EXAMPLES", "200"))
START = datetime(2025, 6, 2, tzinfo=UTC)

HOSTILE = [
    ("signals", {"x": "x\x00"}),
    ("agent_votes", {"k\x00": 1}),
    ("signals", {"x": float("inf")}),
    ("signals", {"x": float("nan")}),
    ("signals", {"x": 10**30}),
    ("strategy", "\ud800"),
    ("account", "a\udfffb"),
    ("executed_at", "9999-12-31T23:00:00-05:00"),
    ("quantity", "1e5000"),
    ("signals", {"d": json.loads("[" * 18 + "]" * 18)}),
    ("side", True),
]


@pytest.fixture
def proxied_database(django_db_blocker):
    """The default connection goes through a TCP proxy for the test's duration."""
    conn = connections["default"]
    target = (conn.settings_dict["HOST"], int(conn.settings_dict["PORT"]))
    proxy = TcpProxy(*target).start()
    original = dict(conn.settings_dict)
    conn.close()
    conn.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    try:
        yield proxy
    finally:
        proxy.restore()
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(original)
        proxy.cut()


@pytest.mark.django_db(transaction=True)
def test_every_accepted_trade_is_stored_once_in_its_latest_state(
    proxied_database, settings, tmp_path
):
    proxy = proxied_database
    django_settings = settings
    _, raw = api_key_create(name="machine-bot", scopes="trades:write,trades:read")

    class CaptureMachine(RuleBasedStateMachine):
        opens = Bundle("opens")

        def __init__(self):
            super().__init__()
            proxy.restore()
            self.prefix = f"M{uuid.uuid4().hex[:8]}"
            self.serial = 0
            self.expected: dict[tuple[str, str], str | None] = {}  # key -> pnl (None: open)
            self.corrupted: set[bytes] = set()
            django_settings.SPOOL_DIR = tmp_path / self.prefix
            self.client = APIClient()
            self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
            assert self.client.get("/api/v1/trades?limit=1").status_code == 200  # key verified

        # -- trades ---------------------------------------------------------------------
        def _new(self, *, closed: bool, pnl: str = "2.5") -> dict:
            self.serial += 1
            opened = START + timedelta(minutes=self.serial)
            data = {
                "trade_id": f"{self.prefix}-{self.serial}",
                "executed_at": opened.isoformat(),
                "symbol": "EURUSD",
                "side": "long",
                "quantity": "1",
                "entry_price": "1.1",
            }
            if closed:
                data.update(_closing(data, pnl))
            return data

        def _post(self, items: list[dict]):
            body = json.dumps(items, allow_nan=True)  # hostile numbers as the bot sent them
            return self.client.post("/api/v1/trades", body, content_type="application/json")

        def _apply(self, items: list[dict]) -> None:
            for item in items:
                key = (item["trade_id"], item["executed_at"])
                if key not in self.expected:
                    self.expected[key] = item.get("pnl")
                elif self.expected[key] is None and item.get("pnl") is not None:
                    self.expected[key] = item["pnl"]

        @rule(target=opens, closed=st.booleans(), pair=st.booleans(), size=st.integers(1, 4))
        def post_new_trades(self, closed, pair, size):
            items = [self._new(closed=closed) for _ in range(size)]
            if pair:  # an open and its close in one batch
                opened = self._new(closed=False)
                items += [opened, {**opened, **_closing(opened, "7.25")}]
            response = self._post(items)
            assert response.status_code in (201, 202), response.content
            self._apply(items)
            return items[0] if not closed else opened if pair else items[0]

        @rule(trade=opens, pnl=st.sampled_from(["-4", "0", "12.125"]), repeat=st.booleans())
        def post_a_close(self, trade, pnl, repeat):
            items = [{**trade, **_closing(trade, pnl)}]
            if repeat:
                items.insert(0, trade)
            response = self._post(items)
            assert response.status_code in (201, 202), response.content
            self._apply(items)

        @rule(hostile=st.sampled_from(HOSTILE), position=st.integers(0, 2))
        def post_a_poisoned_batch(self, hostile, position):
            items = [self._new(closed=True) for _ in range(2)]
            bad = {**self._new(closed=False), hostile[0]: hostile[1]}
            items.insert(position, bad)
            response = self._post(items)
            assert response.status_code == 400, response.content
            errors = response.json()["errors"]
            assert {"index": position, "field": hostile[0]} in [
                {"index": e["index"], "field": e["field"]} for e in errors
            ]

        # -- outages and the spool ----------------------------------------------------------
        @precondition(lambda self: proxy.up)
        @rule()
        def database_goes_down(self):
            proxy.cut()

        @precondition(lambda self: not proxy.up)
        @rule()
        def database_comes_back(self):
            proxy.restore()

        @rule(junk=st.sampled_from([b'{"batch": "x", "trade": {"trade_id"', b"\xff\xfe", b"[1]"]))
        def a_corrupted_line_lands_in_the_spool(self, junk):
            directory = get_spool().directory
            directory.mkdir(parents=True, exist_ok=True)
            line = junk + f" {uuid.uuid4().hex}".encode() + b"\n"
            (directory / f"active-disk-{uuid.uuid4().hex}.jsonl").write_bytes(line)
            self.corrupted.add(line)

        @precondition(lambda self: proxy.up)
        @invariant()
        def drained_the_store_matches_every_accepted_trade(self):
            close_old_connections()  # a request's or a task's start: drop a broken one
            drain_spool()
            spool = get_spool()
            assert not spool.has_backlog(), "the drain left spooled trades"
            assert {p.read_bytes() for p in spool.quarantined()} == self.corrupted
            rows = Trade.objects.filter(trade_id__startswith=f"{self.prefix}-").values_list(
                "trade_id", "executed_at", "pnl"
            )
            stored: dict[tuple[str, str], list] = {}
            for trade_id, executed_at, pnl in rows:
                key = (trade_id, executed_at.isoformat())
                stored.setdefault(key, []).append(None if pnl is None else pnl.normalize())
            assert stored.keys() == self.expected.keys()
            assert all(len(v) == 1 for v in stored.values()), "a trade stored twice"
            for key, pnl in self.expected.items():
                want = None if pnl is None else _decimal(pnl)
                assert stored[key][0] == want, (key, stored[key], pnl)

        def teardown(self):
            proxy.restore()
            connection.close()

    run_state_machine_as_test(
        CaptureMachine,
        settings=hypothesis_settings(
            max_examples=EXAMPLES,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        ),
    )
    assert proxy.cuts > EXAMPLES // 4, "the database hardly ever went down"


def _closing(opened: dict, pnl: str) -> dict:
    closed_at = datetime.fromisoformat(opened["executed_at"]) + timedelta(minutes=30)
    return {"closed_at": closed_at.isoformat(), "exit_price": "1.2", "pnl": pnl}


def _decimal(text: str):
    from decimal import Decimal

    return Decimal(text).normalize()
