"""One set of rules for a trade: capture, the database, the API, the spool's replay and
both import paths agree.

Hypothesis generates trade records around the valid format, with hostile values mixed
in (NUL, lone surrogates, control characters, Infinity, NaN, 1e5000, thousands of
digits, deep nesting, year 9999 with an offset, wrong types, times around the end of
the clock-skew allowance, ideas that do not exist). Django's clock is frozen at FROZEN
(capture reads django.utils.timezone.now). Capture's decision (``decide``: the format's
rules with the allowance, then the instruments and ideas named) is the reference:
- it accepts the record, or refuses it naming fields, with a message that renders;
- what it accepts, PostgreSQL stores, and the API reads back and renders (a value the
  database would refuse is never accepted first);
- the API (its service, and over HTTP where the record is plain JSON) and the spool's
  replay decide alike, naming the same fields; what was accepted and spooled is stored
  by the replay;
- as a one-row CSV file, the exact import accepts it exactly when capture accepts its
  cells, and the fast path accepts only rows capture accepts, storing them alike.
"""

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.core.api.renderers import JSONRenderer
from journal.api import TradeOutSerializer
from journal.domain.trade_record import FIELDS
from journal.models import QuarantinedLine, Trade
from journal.write import fast_import
from journal.write.capture import (
    TradesRejected,
    get_spool,
    parse_records,
    record_trades,
    reference_problems,
    store_records,
)
from journal.write.imports import ImportFailed, ImportResult, import_file
from journal.write.replay import spool_replay

pytestmark = pytest.mark.django_db

# make test: 300 fixed examples per test; make fuzz: more, fresh each run.
EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_RULES_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)

# Where Django's clock stands (a month's last minutes); the allowance is the default 300 s.
FROZEN = datetime(2026, 10, 31, 23, 57, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with mock.patch("django.utils.timezone.now", return_value=FROZEN):
        yield


HOSTILE_TEXT = st.sampled_from(
    ["\x00", "x\x00y", "\ud800", "a\udfffb", "\t", "\x7f", " ", "é", "=HYPERLINK(1)", "x" * 65]
)
TEXT = st.one_of(
    st.text(max_size=12), HOSTILE_TEXT, st.from_regex(r"[A-Za-z0-9 _-]{1,20}", fullmatch=True)
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14))])
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1989, 12, 30), max_value=datetime(2026, 11, 1), timezones=ZONES
    ).map(lambda moment: moment.isoformat()),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES
    ).map(lambda moment: moment.isoformat()),
    st.sampled_from(["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "2026-03-02", "x"]),
    # Around the end of the allowance (FROZEN + 300 s), in any zone.
    st.builds(
        lambda seconds, zone: (FROZEN + timedelta(seconds=seconds)).astimezone(zone).isoformat(),
        st.integers(-600, 900),
        ZONES,
    ),
)
DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("99999"), places=4),
    st.integers(min_value=-(10**14), max_value=10**14),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e5000", "-1e5000", "1" * 13, "0.000000001", "+1.5", "1.", ".5", "9" * 400]),
    st.booleans(),
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)
    ),
    max_leaves=20,
)


def nested(depth: int) -> dict:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return {"deep": value}


JSON_OBJECTS = st.one_of(
    st.dictionaries(TEXT, JSON, max_size=4),
    st.integers(min_value=10, max_value=25).map(nested),
    JSON,
)


@st.composite
def records(draw) -> dict:
    """A closed or open trade with some fields replaced by generated values."""
    opened = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 10, 1)))
    opened = opened.replace(tzinfo=UTC)
    record = {
        "trade_id": draw(st.from_regex(r"T-[0-9]{1,8}", fullmatch=True)),
        "executed_at": opened.isoformat(),
        "symbol": draw(st.sampled_from(["EURUSD", "btc/usd", "ES=F"])),
        "side": draw(st.sampled_from(["long", "short"])),
        "quantity": "1.5",
        "entry_price": "1.0845",
    }
    if draw(st.booleans()):
        record.update(
            closed_at=(opened + timedelta(hours=1)).isoformat(), exit_price="1.09", pnl="-3.5"
        )
    generated = {
        "trade_id": TEXT,
        "executed_at": TIMES,
        "closed_at": TIMES,
        "symbol": TEXT,
        "side": TEXT,
        "quantity": DECIMALS,
        "entry_price": DECIMALS,
        "exit_price": DECIMALS,
        "fees": DECIMALS,
        "pnl": DECIMALS,
        "strategy": TEXT,
        "account": TEXT,
        "broker_order_id": TEXT,
        "agent_votes": JSON_OBJECTS,
        "signals": JSON_OBJECTS,
        "model_version": st.one_of(TEXT, st.just("direction-xgb@3")),
        "confidence": DECIMALS,
        "stop_loss": DECIMALS,
        "idea_id": st.one_of(st.integers(min_value=-5, max_value=2**64), TEXT, DECIMALS),
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        record[name] = draw(generated[name])
    return record


def decide(record) -> tuple[object | None, dict | None]:
    """Capture's decision on one record: (the TradeRecord, None) or (None, {field:
    reason}), every field named."""
    parsed, errors, partial = parse_records([record])
    problems = reference_problems({**parsed, **partial})
    errors = {**problems.get(0, {}), **errors.get(0, {})}
    if errors:
        assert all(isinstance(name, str) for name in errors)
        json.dumps(errors, ensure_ascii=False).encode("utf-8")  # the message renders
        return None, errors
    return parsed[0], None


parse = decide


@EXAMPLES
@given(record=records())
def test_what_parse_record_accepts_the_database_stores_and_the_api_reads_back(record):
    parsed, _errors = parse(record)
    if parsed is None:
        return
    with transaction.atomic():
        assert store_records([parsed]).created == 1
        trade = Trade.objects.get(trade_id=parsed.trade_id, executed_at=parsed.executed_at)
        body = JSONRenderer().render(TradeOutSerializer(trade).data)
        read_back = json.loads(body)
        assert read_back["signals"] == json.loads(json.dumps(parsed.signals))
        assert Decimal(read_back["quantity"]) == parsed.quantity
        transaction.set_rollback(True)


def plain_json(record) -> bytes | None:
    """The record as an API body, where JSON can carry it (no NaN, no lone surrogate)."""
    try:
        return json.dumps(record, cls=DjangoJSONEncoder, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError, TypeError):
        return None


@EXAMPLES
@given(record=records())
def test_the_api_and_the_spool_replay_decide_as_capture_does(record, bot, spool_dir):
    parsed, errors = decide(record)
    with transaction.atomic():
        try:
            record_trades([record])
            refused = None
        except TradesRejected as exc:
            refused = {error["field"] for error in exc.errors}
        transaction.set_rollback(True)
    assert refused == (None if errors is None else set(errors)), (record, errors, refused)
    body = plain_json(record)
    if body is not None:
        with transaction.atomic():
            response = bot.post("/api/v1/trades", body, content_type="application/json")
            transaction.set_rollback(True)
        if errors is None:
            assert response.status_code == 201, response.content
        else:
            assert response.status_code == 400, response.content
            assert {e["field"] for e in response.json()["errors"]} == set(errors)
    # The spool holds what capture accepted (as_json); a line changed on disk into the
    # refused record is quarantined, naming what capture named.
    spooled = parsed.as_json() if parsed is not None else record
    with transaction.atomic():
        get_spool().append([spooled])
        result = spool_replay()
        if parsed is not None:
            assert (result.stored.created, result.quarantined) == (1, 0), record
        else:
            assert (result.stored.created, result.quarantined) == (0, 1), record
            reason = QuarantinedLine.objects.get().reason
            if reason.startswith("invalid trade: "):
                named = {r.partition(": ")[0] for r in reason[15:].split("; ")}
                assert named == set(errors), (reason, errors)
        transaction.set_rollback(True)


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_row(path, record: dict) -> dict[str, str]:
    cells = {name: csv_cell(record.get(name)) for name in FIELDS}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerow([cells[name] for name in FIELDS])
    # A lone surrogate cannot be UTF-8: written as its (invalid) bytes, as a broken
    # exporter would; both import paths must refuse the file then.
    path.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))
    return cells


def stored_rows() -> list[tuple]:
    return list(Trade.objects.order_by("trade_id").values_list(*FIELDS, "status"))


@EXAMPLES
@given(record=records())
def test_the_csv_paths_and_parse_record_agree(record, tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "one.csv"
    cells = write_row(path, record)
    with transaction.atomic():
        fast = fast_import.import_csv(path, ImportResult())
        fast_rows = stored_rows() if fast else None
        transaction.set_rollback(True)
    with transaction.atomic():
        try:
            import_file(path, fast=False)
            exact_rows = stored_rows()
        except ImportFailed:
            exact_rows = None
        transaction.set_rollback(True)
    readable = path.read_bytes().decode("utf-8", "strict") if _utf8(path) else None
    if readable is None:
        assert exact_rows is None and not fast
        return
    row = next(csv.DictReader(io.StringIO(readable)))
    parsed, errors = parse({k: v for k, v in row.items()})
    assert (parsed is not None) == (exact_rows is not None), (cells, errors)
    if fast:
        assert parsed is not None, f"the fast path accepted what parse_record refuses: {cells}"
        assert fast_rows == exact_rows


def _utf8(path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
