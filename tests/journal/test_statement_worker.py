"""Broker statements at size and on the job engine.

- A real Celery worker (tests/live_server.JobEngine) runs the dry run and the import of a
  statement uploaded through the admin of a gunicorn server, on a PostgreSQL cluster of
  its own: what a deployment does.
- A 50,000-row MT5 report goes through the page on the tier's PostgreSQL: the upload,
  the dry run, the import, every position stored once.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from journal.models import StatementImport, StatementStatus, Trade
from journal.statements import jobs
from tests.live_server import JobEngine, LiveServer, own_cluster
from tests.ops.staff import staff_session

FIXTURES = Path(__file__).parent / "statements"
ROWS = 50_000


@pytest.fixture
def cluster():
    yield from own_cluster("statement_worker")


def wait_for(session, url: str, status: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    html = ""
    while time.monotonic() < deadline:
        html = session.get(url, timeout=30).text
        if f'data-status="{status}"' in html:
            return html
        if 'data-status="failed"' in html:
            raise AssertionError(html[html.find("statement-failure") :][:500])
        time.sleep(0.5)
    raise AssertionError(f"not {status} in time: {html[:2000]}")


def test_a_celery_worker_runs_the_dry_run_and_the_import_of_an_uploaded_statement(
    cluster, tmp_path
):
    # The web answers and the worker share a broker key prefix: the web hands the worker
    # the statement's steps (test_outage's worker only drains on beat's schedule).
    prefix = f"statements-{uuid.uuid4().hex[:8]}:"
    live = LiveServer(cluster, tmp_path, CELERY_KEY_PREFIX=prefix)
    engine = None
    try:
        live.manage("migrate", "--noinput")
        live.start(migrate=False, collectstatic=True)  # the admin's pages need their files
        engine = JobEngine(live, tmp_path, CELERY_KEY_PREFIX=prefix).start()
        session = staff_session(live)
        csrf = re.search(r"csrftoken=([^;]+)", session.headers["Cookie"])[1]
        response = session.post(
            f"{live.url}/admin/journal/statementimport/add/",
            data={
                "csrfmiddlewaretoken": csrf,
                "format": "auto",
                "time_zone": "Europe/Athens",
                "account": "",
                "strategy": "imported",
            },
            files={"file": ("ReportHistory.html", (FIXTURES / "mt5_report.html").read_bytes())},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[:2000]
        url = f"{live.url}{response.headers['Location']}"
        html = wait_for(session, url, "checked")
        assert "run by the job worker" in html
        session.post(url, data={"csrfmiddlewaretoken": csrf, "action": "import"}, timeout=30)
        html = wait_for(session, url, "imported")
        assert "run by the job worker" in html
        with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
            stored = conn.execute(
                "SELECT count(*), count(DISTINCT strategy) FROM journal_trade"
            ).fetchone()
        assert stored == (5, 1)
        assert "run_statement" in engine.log_text()
    finally:
        if engine is not None:
            engine.stop()
        live.stop()


def mt5_report(rows: int) -> bytes:
    """An MT5 trade history report of ``rows`` closed positions (UTF-16, as saved)."""
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    symbols = (("EURUSD", "1.08", 5), ("GBPUSD", "1.27", 5), ("XAUUSD", "2350", 2))
    body = []
    for n in range(rows):
        symbol, base, places = symbols[n % 3]
        opened = start + timedelta(minutes=3 * n)
        closed = opened + timedelta(minutes=1 + n % 90)
        entry = float(base) * (1 + (n % 97 - 48) / 5000)
        move = ((n * 7919) % 41 - 20) / (10**places / 10)
        side = "buy" if n % 2 else "sell"
        body.append(
            f'<tr bgcolor="#FFFFFF" align="right"><td>{opened:%Y.%m.%d %H:%M:%S}</td>'
            f"<td>{1_000_000 + n}</td><td>{symbol}</td><td>{side}</td>"
            f'<td class="hidden" colspan="8"></td><td>0.1</td><td>{entry:.{places}f}</td>'
            f"<td></td><td></td><td>{closed:%Y.%m.%d %H:%M:%S}</td>"
            f"<td>{entry + move:.{places}f}</td><td>-0.70</td><td>0.00</td>"
            f'<td colspan="2">{move * 10_000:.2f}</td></tr>'
        )
    html = (
        "<html><body><table>"
        '<tr><th colspan="4">Account:</th><th colspan="10"><b>7001 (USD, Demo, Hedge)</b></th></tr>'
        '<tr align="center"><th colspan="14"><div><b>Positions</b></div></th></tr>'
        '<tr align="center" bgcolor="#E5F0FC"><td><b>Time</b></td><td><b>Position</b></td>'
        "<td><b>Symbol</b></td><td><b>Type</b></td><td><b>Volume</b></td><td><b>Price</b></td>"
        "<td><b>S / L</b></td><td><b>T / P</b></td><td><b>Time</b></td><td><b>Price</b></td>"
        '<td><b>Commission</b></td><td><b>Swap</b></td><td colspan="2"><b>Profit</b></td></tr>\r\n'
        + "\r\n".join(body)
        + "\r\n</table></body></html>"
    )
    return b"\xff\xfe" + html.encode("utf-16-le")


@pytest.mark.django_db(transaction=True)
def test_a_50000_row_statement_imports_through_the_page(client, django_user_model, settings):
    settings.JOURNAL_STATEMENT_RUNNER = "web"
    admin = django_user_model.objects.create_superuser("ada-admin", password="x")
    client.force_login(admin)
    data = mt5_report(ROWS)
    started = time.monotonic()
    response = client.post(
        reverse("admin:journal_statementimport_add"),
        {
            "file": SimpleUploadedFile("ReportHistory-7001.html", data),
            "format": "auto",
            "time_zone": "UTC",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    jobs.wait_for_web_jobs(timeout=600)
    statement = StatementImport.objects.get()
    assert statement.status == StatementStatus.CHECKED, statement.failure
    report = statement.check_report
    assert (report["rows"], report["trades"], report["new"], report["invalid"]) == (
        ROWS,
        ROWS,
        ROWS,
        0,
    )
    checked = time.monotonic()
    response = client.post(
        reverse("admin:journal_statementimport_change", args=[statement.pk]), {"action": "import"}
    )
    assert response.status_code == 302
    jobs.wait_for_web_jobs(timeout=600)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.IMPORTED, statement.failure
    assert statement.import_report["new"] == ROWS
    assert Trade.objects.count() == ROWS
    assert Trade.objects.values("trade_id").distinct().count() == ROWS
    print(
        f"\n{ROWS:,} rows ({len(data) / 1e6:.1f} MB): dry run {checked - started:.1f} s, "
        f"import {time.monotonic() - checked:.1f} s"
    )
