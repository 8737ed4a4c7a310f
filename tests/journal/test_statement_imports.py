"""Broker statements through the admin: upload, dry run, instruments added with one click,
the import as a job with the quarantine, on the tier's PostgreSQL.

The steps run in the web process here (JOURNAL_STATEMENT_RUNNER=web, or auto with no
worker answering); tests/journal/test_statement_worker.py runs them on a real Celery
worker. The runner's thread uses a connection of its own: the tests are transactional.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from journal import instruments
from journal.instruments import instruments_seed
from journal.models import (
    Instrument,
    QuarantinedLine,
    StatementImport,
    StatementStatus,
    Trade,
)
from journal.statements import jobs
from journal.statements.services import (
    StatementRefused,
    statement_import,
    statement_run_again,
    statement_upload,
)
from journal.write.quarantine import quarantine_resubmit
from tests.journal.conftest import operator_member

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "statements"
HEADER = b"trade_id,executed_at,symbol,side,quantity,entry_price\n"
ADD = "admin:journal_statementimport_add"


@pytest.fixture(autouse=True)
def _web_runner(settings):
    settings.JOURNAL_STATEMENT_RUNNER = "web"
    instruments.forget()
    yield
    jobs.wait_for_web_jobs()
    instruments.forget()


def grant_statement_permissions() -> None:
    """The groups' grants of migration 0018 (a transactional test empties the tables)."""
    migration = import_module("journal.migrations.0020_statement_permissions")
    apps = MigrationLoader(connection).project_state(("journal", "0020_statement_permissions"))
    migration.grant(apps.apps, SimpleNamespace(connection=connection))


def member(django_user_model, username: str, *codenames: str, group: str | None = None):
    """A staff user with the journal's ``codenames``, and ``group``'s grants."""
    from django.contrib.auth.models import Group

    if group == "Operator":
        user = operator_member(django_user_model, username)
    else:
        user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    grant_statement_permissions()
    if group and group != "Operator":
        user.groups.add(Group.objects.get(name=group))
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="journal", codename=codename)
        )
    return django_user_model.objects.get(pk=user.pk)  # no cached permissions


@pytest.fixture
def importer(django_user_model):
    """An operator trusted to store trades (add_trade), as the quarantine's."""
    return member(django_user_model, "ivo-imports", "add_trade", "change_trade", group="Operator")


@pytest.fixture
def risk_manager(django_user_model):
    return member(django_user_model, "rhea-risk", "add_instrument", "view_statementimport")


def upload(client, name: str, data: bytes | None = None, **fields):
    data = (FIXTURES / name).read_bytes() if data is None else data
    response = client.post(
        reverse(ADD),
        {
            "file": SimpleUploadedFile(name, data),
            "format": fields.pop("format", "auto"),
            "time_zone": fields.pop("time_zone", "UTC"),
            **fields,
        },
    )
    return response


def uploaded(client, name: str, data: bytes | None = None, **fields) -> StatementImport:
    response = upload(client, name, data, **fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    jobs.wait_for_web_jobs()
    return StatementImport.objects.order_by("-pk").first()


def page(client, statement: StatementImport) -> str:
    response = client.get(reverse("admin:journal_statementimport_change", args=[statement.pk]))
    assert response.status_code == 200
    return response.content.decode()


def act(client, statement, action: str, **data):
    response = client.post(
        reverse("admin:journal_statementimport_change", args=[statement.pk]),
        {"action": action, **data},
    )
    jobs.wait_for_web_jobs()
    statement.refresh_from_db()
    return response


def test_an_ibkr_statement_is_checked_completed_and_imported_through_the_page(
    client, importer, risk_manager, settings
):
    settings.INSTRUMENTS_REQUIRED = True
    instruments_seed()  # AAPL and NVDA are instruments; ESM6, EUR.USD and GLD are not
    client.force_login(importer)
    statement = uploaded(client, "ibkr_flex_trades.xml", time_zone="America/New_York")
    assert statement.status == StatementStatus.CHECKED, statement.failure
    assert statement.format == "ibkr_xml" and statement.runner == jobs.WEB
    report = statement.check_report
    assert (report["rows"], report["trades"], report["valid"], report["new"]) == (9, 7, 2, 2)
    assert report["duplicates"] == 0 and not Trade.objects.exists()  # a dry run
    # Errors by line: the cancelled execution, the close of a position opened before,
    # the option whose symbol has spaces, and the four trades on symbols that are no
    # instrument (one of them is GLD's two).
    lines = sorted({error["line"] for error in report["errors"]})
    assert lines == [13, 16, 18, 19, 21, 22, 23]
    assert report["invalid"] == 7
    unknown = {item["symbol"]: item for item in report["unknown_symbols"]}
    assert sorted(unknown) == ["ESM6", "EUR.USD", "GLD"]
    html = page(client, statement)
    assert "Errors by line" in html and "a cancelled execution" in html
    assert 'id="import-form"' in html  # the importer may import...
    assert 'name="action" value="add_instrument"' not in html  # ...not add instruments
    assert "A risk manager adds it" in html

    # The risk manager adds EUR.USD with one click; the future needs its form.
    client.force_login(risk_manager)
    html = page(client, statement)
    assert html.count('name="action" value="add_instrument"') == 2  # EUR.USD and GLD
    assert "Add it with its form" in html  # ESM6: the statement does not say its class
    act(client, statement, "add_instrument", symbol="EUR.USD")
    added = Instrument.objects.get(symbol="EUR.USD")
    assert (added.asset_class, added.quote_currency, added.tick_size) == (
        "fx",
        "USD",
        Decimal("0.00001"),
    )
    assert statement.status == StatementStatus.CHECKED
    assert statement.check_report["valid"] == 3  # checked again: EUR.USD now passes
    response = act(client, statement, "import")
    assert response.status_code == 403  # storing trades is not the risk manager's

    client.force_login(importer)
    act(client, statement, "import")
    assert statement.status == StatementStatus.IMPORTED, statement.failure
    result = statement.import_report
    assert (result["new"], result["duplicates"], result["quarantined"]) == (3, 0, 6)
    assert sorted(Trade.objects.values_list("trade_id", flat=True)) == [
        "IBKR-1001",
        "IBKR-1006",
        "IBKR-1014",
    ]
    aapl = Trade.objects.get(trade_id="IBKR-1001")
    assert (aapl.pnl, aapl.fees, aapl.account) == (Decimal("172.98"), Decimal("2.02"), "U1234567")
    quarantined = QuarantinedLine.objects.filter(source__startswith=f"statement {statement.pk}:")
    assert sorted(quarantined.values_list("line_number", flat=True)) == [13, 18, 19, 21, 22, 23]
    assert "Imported" in page(client, statement)

    # A quarantined trade is re-submitted once its instrument exists.
    Instrument.objects.create(
        symbol="GLD",
        name="SPDR Gold Shares",
        asset_class="equity",
        quote_currency="USD",
        tick_size=Decimal("0.01"),
        price_decimals=2,
        quantity_step=Decimal("1"),
        quantity_unit="shares",
        point_value=Decimal("1"),
    )
    instruments.forget()
    line = quarantined.get(line_number=18)
    quarantine_resubmit(line_id=line.pk, trade={}, user=importer)
    assert Trade.objects.get(trade_id="IBKR-1008").pnl == Decimal("15")


@pytest.mark.parametrize(
    ("name", "zone", "stored"),
    [
        ("ibkr_flex_trades.csv", "America/New_York", 6),
        ("ibkr_flex_sections.csv", "America/New_York", 6),
        ("ibkr_flex_descriptors.csv", "America/New_York", 6),
        ("mt5_report.html", "Europe/Athens", 5),
    ],
)
def test_each_broker_format_imports_through_the_page(client, importer, name, zone, stored):
    client.force_login(importer)
    statement = uploaded(client, name, time_zone=zone)
    assert statement.status == StatementStatus.CHECKED, statement.failure
    act(client, statement, "import")
    assert statement.status == StatementStatus.IMPORTED, statement.failure
    assert Trade.objects.count() == stored == statement.import_report["new"]
    assert statement.import_report["quarantined"] == statement.check_report["invalid"]


def test_the_journals_own_csv_and_json_lines_import_through_the_page(client, importer):
    from tests.journal.conftest import trade_data

    rows = [trade_data() for _ in range(3)]
    header = "trade_id,executed_at,closed_at,symbol,side,quantity,entry_price,exit_price,fees,pnl"
    names = header.split(",")
    text = header + "\n" + "\n".join(",".join(str(r[n]) for n in names) for r in rows) + "\n"
    text += "BAD-1,not a time,,EURUSD,long,1,1.1,,,\n"
    client.force_login(importer)
    statement = uploaded(client, "trades.csv", text.encode())
    assert statement.format == "csv" and statement.check_report["invalid"] == 1
    assert statement.check_report["errors"][0]["line"] == 5
    act(client, statement, "import")
    assert Trade.objects.count() == 3

    import json

    lines = [json.dumps(trade_data()) for _ in range(2)] + ['{"trade_id": "J-BAD"', "[1, 2]"]
    statement = uploaded(client, "trades.jsonl", ("\n".join(lines) + "\n").encode())
    assert statement.format == "jsonl"
    assert [e["line"] for e in statement.check_report["errors"]] == [3, 4]
    act(client, statement, "import")
    assert Trade.objects.count() == 5
    assert statement.import_report["quarantined"] == 2


def test_the_same_statement_again_is_all_duplicates_and_changes_nothing(client, importer):
    client.force_login(importer)
    first = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    act(client, first, "import")
    before = list(Trade.objects.order_by("trade_id").values_list("trade_id", "pnl", "recorded_at"))
    again = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    assert (again.check_report["new"], again.check_report["duplicates"]) == (0, 5)
    assert "the same file was uploaded before" in page(client, again)
    act(client, again, "import")
    assert again.import_report["new"] == 0
    after = list(Trade.objects.order_by("trade_id").values_list("trade_id", "pnl", "recorded_at"))
    assert after == before
    # Quarantined rows of the first import are kept once, whatever the second does.
    assert QuarantinedLine.objects.filter(source__startswith=f"statement {first.pk}:").count() == 1


def test_an_open_position_is_completed_by_the_report_that_closes_it(client, importer):
    html = (FIXTURES / "mt5_report.html").read_bytes()[2:].decode("utf-16-le")
    client.force_login(importer)
    statement = uploaded(client, "open.html", html.encode(), time_zone="Europe/Athens")
    act(client, statement, "import")
    assert Trade.objects.get(trade_id="MT5-51234567-1007").status == "open"
    # The next month's report lists 1007 closed.
    closed_row = (
        "<tr><td>2026.05.29 16:00:00</td><td>1007</td><td>GBPUSD</td><td>sell</td>"
        '<td class="hidden" colspan="8">fade</td><td>0.2</td><td>1.27000</td><td>1.27500</td>'
        "<td>1.26000</td><td>2026.06.01 10:00:00</td><td>1.26500</td><td>-1.40</td>"
        '<td>0.00</td><td colspan="2">100.00</td></tr>'
    )
    start = html.index("<b>Positions</b>")
    header_end = html.index("</tr>", html.index("<b>Profit</b>", start)) + len("</tr>")
    later = html[:header_end] + closed_row + "</table></body></html>"
    statement = uploaded(client, "closed.html", later.encode(), time_zone="Europe/Athens")
    assert statement.check_report["closes"] == 1
    act(client, statement, "import")
    trade = Trade.objects.get(trade_id="MT5-51234567-1007")
    assert (trade.status, trade.pnl, trade.exit_price) == (
        "closed",
        Decimal("98.6"),
        Decimal("1.265"),
    )
    assert Trade.objects.filter(trade_id="MT5-51234567-1007").count() == 1


def test_an_operator_without_add_trade_reads_the_dry_run_but_cannot_import(
    client, django_user_model
):
    olga = member(django_user_model, "olga-operator", group="Operator")
    client.force_login(olga)
    statement = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    html = page(client, statement)
    assert 'id="import-not-permitted"' in html and "journal.add_trade" in html
    response = act(client, statement, "import")
    assert response.status_code == 403
    assert statement.status == StatementStatus.CHECKED and not Trade.objects.exists()


def test_a_reviewer_may_not_upload_statements(client, django_user_model):
    from tests.admin.conftest import staff_member

    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    client.force_login(reviewer)
    assert client.get(reverse(ADD)).status_code == 403
    assert upload(client, "mt5_report.html").status_code == 403
    assert not StatementImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "fields", "says"),
    [
        ("empty.csv", b"   \n", {}, "the file is empty"),
        ("blob.bin", b"\x00\x01\x02\x03 binary", {}, "choose its format"),
        ("t.csv", b"trade_id\n", {"time_zone": "Mars/Olympus"}, "not a time zone name"),
        ("t.csv", b"trade_id\n", {"account": "desk\x07one"}, "printable"),
        ("t.csv", b"trade_id\n", {"format": "pdf"}, "Select a valid choice"),
    ],
)
def test_a_bad_upload_is_refused_on_its_form_naming_what_is_wrong(
    client, importer, name, data, fields, says
):
    client.force_login(importer)
    response = upload(client, name, data, **fields)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not StatementImport.objects.exists()


def test_a_file_over_the_limit_is_refused(client, importer, settings):
    settings.JOURNAL_STATEMENT_MAX_MB = 1
    client.force_login(importer)
    response = upload(client, "big.csv", b"trade_id\n" + b"x" * (1024 * 1024 + 1))
    assert "the limit is 1 MB" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("broken.xml", b"<?xml version='1.0'?><FlexQueryResponse><Trades>", "not well-formed"),
        ("bomb.xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DTD"),
        ("nothing.html", b"<html><table><tr><td>Deals</td></tr></table></html>", "no Positions"),
        ("latin1.csv", HEADER + b"X,2026-05-04T10:00:00Z,EURUSD,long,1,1.1\xe9\n", "not UTF-8"),
        ("huge.csv", HEADER + b"x" * 200_000 + b"\n", "unreadable CSV"),
    ],
)
def test_an_unreadable_statement_fails_its_dry_run_with_a_reason_on_its_page(
    client, importer, name, data, says
):
    client.force_login(importer)
    statement = uploaded(client, name, data)
    assert statement.status == StatementStatus.FAILED
    assert says in statement.failure
    html = page(client, statement)
    assert says in html and "Run the dry run again" in html
    assert not Trade.objects.exists()


def test_two_runners_claim_a_step_once(importer, settings):
    settings.JOURNAL_STATEMENT_RUNNER = "worker"  # nothing runs it by itself here
    from unittest import mock

    with mock.patch.object(jobs.app, "send_task"):
        statement = statement_upload(
            user=importer,
            filename="mt5.html",
            data=(FIXTURES / "mt5_report.html").read_bytes(),
            time_zone="Europe/Athens",
        )
    barrier = threading.Barrier(4)
    ran = []

    def runner():
        try:
            barrier.wait()
            ran.append(jobs.run_job(statement.pk, runner="test"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(ran, key=str) == [None, None, None, StatementStatus.CHECKING]
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CHECKED


def test_two_people_pressing_import_at_once_start_one_import(importer, django_user_model, settings):
    settings.JOURNAL_STATEMENT_RUNNER = "worker"
    from unittest import mock

    other = member(django_user_model, "ines-imports", "add_trade", group="Operator")
    with mock.patch.object(jobs.app, "send_task") as sent:
        statement = statement_upload(
            user=importer,
            filename="mt5.html",
            data=(FIXTURES / "mt5_report.html").read_bytes(),
            time_zone="Europe/Athens",
        )
        jobs.run_job(statement.pk, runner="test")
        barrier = threading.Barrier(2)
        outcomes = []

        def press(user):
            try:
                barrier.wait()
                statement_import(statement_id=statement.pk, user=user)
                outcomes.append("started")
            except StatementRefused as exc:
                outcomes.append(str(exc))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=press, args=(u,)) for u in (importer, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert outcomes.count("started") == 1
    assert next(o for o in outcomes if o != "started").startswith(
        "this statement is not ready to import"
    )
    assert sent.call_count == 2  # the dry run, and one import


def test_a_stopped_import_runs_again_and_imports_once(client, importer, settings, clock):
    client.force_login(importer)
    statement = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    # The import's runner dies after claiming it: its transaction never committed.
    StatementImport.objects.filter(pk=statement.pk).update(
        status=StatementStatus.IMPORTING, claim="dead", started_at=clock.now()
    )
    with pytest.raises(StatementRefused, match="not stopped"):
        statement_run_again(statement_id=statement.pk, user=importer)
    clock.shift(settings.JOURNAL_STATEMENT_STALE_SECONDS + 1)
    assert "No progress for a long while" in page(client, statement)
    act(client, statement, "run_again")
    assert statement.status == StatementStatus.IMPORTED
    assert Trade.objects.count() == 5


def test_without_a_worker_auto_runs_the_step_in_the_web_process_and_says_so(
    client, importer, settings, caplog
):
    settings.JOURNAL_STATEMENT_RUNNER = "auto"  # Redis is the broker; no worker answers
    client.force_login(importer)
    statement = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    assert statement.status == StatementStatus.CHECKED and statement.runner == jobs.WEB
    assert "no job worker answered" in caplog.text
    assert "run by the web process" in page(client, statement)


def test_progress_is_shown_while_a_step_runs(client, importer, settings):
    settings.JOURNAL_STATEMENT_RUNNER = "worker"
    from unittest import mock

    client.force_login(importer)
    with mock.patch.object(jobs.app, "send_task"):
        statement = uploaded(client, "mt5_report.html", time_zone="Europe/Athens")
    StatementImport.objects.filter(pk=statement.pk).update(status=StatementStatus.CHECKING)
    jobs.progress_set(statement.pk, step="dry run: checking every trade", fraction=0.42, rows=2000)
    html = page(client, statement)
    assert '<progress max="100" value="42">' in html
    assert 'http-equiv="refresh"' in html
    jobs.progress_clear(statement.pk)
