"""Each persona's day in a real browser (Debian's Chromium driven by Playwright).

- a reviewer finds a trade by the start of its id, reviews, grades and tags it, finds it
  again by tag and grade, and exports what the filters select with its review;
- a risk manager loosens a limit with a reason, confirms it, reads it in the audit, and
  approves the oldest idea of the approval queue;
- a model manager opens a model and one of its versions (features, metrics, aliases);
- the trade list has no horizontal overflow at 1,366 px with the sidebar open.

Screenshots go to tests/artifacts/screenshots/persona-*.png (git-ignored) for people to
look at. As in test_browser.py, the database is touched only before and after the
browser's block (Playwright runs an event loop on this thread while it is open).
"""

import csv
import importlib
import io
import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.admin.conftest import PASSWORD, recent, staff_member
from tests.admin.test_browser import CHROMIUM, LAUNCH_ARGS, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def browser_page(width: int = 1400, height: int = 900):
    """A page of a fresh headless Chromium at ``width`` px; fails (never skips) without
    the browser."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": width, "height": height}, accept_downloads=True
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert errors == [], errors  # no script of the admin failed
        finally:
            browser.close()


def member(django_user_model, username: str, group: str):
    """A staff member of ``group`` with the group's grants, which a transactional test's
    flush removed (the data migrations of the journal, the desk and the registry)."""
    from django.contrib.auth.models import Group, Permission

    user = staff_member(django_user_model, username, group)
    grants = {
        "Risk manager": (
            "desk",
            (
                "desk.migrations.0003_risk_manager_permissions",
                "desk.migrations.0007_four_eyes_permissions",
            ),
        ),
        "Model manager": (
            "models_registry",
            (
                "models_registry.migrations.0002_model_manager_permissions",
                "models_registry.migrations.0012_breaking_move_permissions",
            ),
        ),
    }
    if group in grants:
        app, modules = grants[group]
        for module in modules:
            codenames = importlib.import_module(module).PERMISSIONS
            Group.objects.get(name=group).permissions.add(
                *Permission.objects.filter(content_type__app_label=app, codename__in=codenames)
            )
    return user


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"persona-{name}.png"), full_page=True)


def log_in(page, url: str, username: str, then: str) -> None:
    page.goto(f"{url}/admin/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(then.split("?")[0]) + r"(\?.*)?$"))


def log_out(page) -> None:
    """The header's Log out button (a POST: Django refuses GET /admin/logout/)."""
    page.click("#logout-form button")
    page.wait_for_url(re.compile(r"/admin/logout/$"))


def no_overflow(page) -> None:
    """Nothing on the page is wider than the window (no horizontal scrollbar)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], (page.url, widths)


def no_number_of_eight_decimals(page) -> None:
    text = page.locator("#content").inner_text()
    assert not re.search(r"\d\.\d{8}\b", text), re.search(r".{40}\d\.\d{8}\b.{0,20}", text)


def trades(**overrides) -> list[str]:
    from journal.instruments import instruments_seed
    from journal.write.capture import record_trades

    instruments_seed()  # figures by instrument: EURUSD to 5 decimals, lots
    from tests.journal.conftest import trade_data

    count = overrides.pop("count", 1)
    start = overrides.pop("start_days_ago", 1)
    records = [
        trade_data(opened=recent(start + n, hour=8 + n % 9), **overrides) for n in range(count)
    ]
    if count > 1 and "trade_id" in overrides:
        raise ValueError("one trade_id for several trades")
    record_trades(records)
    return [record["trade_id"] for record in records]


# -- the trade list at 1,366 px --------------------------------------------------------


def test_the_trade_list_fits_1366_px_with_the_sidebar_open(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    # The widest values the columns hold: long ids, accounts, strategies, versions.
    for n in range(8):
        trades(
            trade_id=f"BROKER-LONG-TRADE-IDENTIFIER-{n:06d}",
            broker_order_id=f"ORDER-{'9' * 40}{n}",
            symbol="XAUUSD",
            quantity="1234.125",
            entry_price="2345.67",
            exit_price="2399.99",
            pnl="-123456.78",
            account="prop-firm-challenge-account-0001",
            strategy="mean-reversion-after-news-spike",
            model_version="trade-outcome-xgboost-with-long-name@12",
            start_days_ago=n + 1,
        )
    with browser_page(1366, 900) as page:
        log_in(page, live_server.url, reviewer.username, "/admin/journal/trade/")
        assert page.locator("#nav-sidebar").is_visible()  # the sidebar is open
        assert page.locator("#changelist-filter").is_visible()
        widths = page.evaluate(
            """() => ({
                page: document.documentElement.scrollWidth,
                window: document.documentElement.clientWidth,
                table: document.querySelector('#result_list').getBoundingClientRect().right,
                column: document.querySelector('#changelist .results').clientWidth,
                scrolled: document.querySelector('#changelist .results').scrollWidth,
            })"""
        )
        shot(page, "00-trade-list-1366")
        no_number_of_eight_decimals(page)
    assert widths["page"] <= widths["window"], widths  # no horizontal scrollbar
    assert widths["scrolled"] <= widths["column"], widths  # the table fits its column
    assert widths["table"] <= widths["window"], widths


# -- the reviewer ------------------------------------------------------------------------


def test_a_reviewer_finds_reviews_tags_and_exports_a_trade(live_server, django_user_model):
    from journal.models import TradeReview

    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    for n in range(3):
        trades(trade_id=f"DEMO-0035{n}", start_days_ago=n + 1)
    trades(count=4, symbol="GBPUSD", pnl="-35.50", start_days_ago=5)
    with browser_page() as page:
        log_in(page, live_server.url, reviewer.username, "/admin/journal/trade/")
        assert page.locator("#result_list tbody tr").count() == 7

        # The start of the id, in any case, finds it.
        page.fill("#searchbar", "demo-0035")
        page.press("#searchbar", "Enter")
        page.wait_for_url(re.compile(r"q=demo-0035"))
        assert page.locator("#result_list tbody tr").count() == 3
        shot(page, "01-reviewer-search")
        page.fill("#searchbar", "demo-00351")
        page.press("#searchbar", "Enter")
        page.wait_for_url(re.compile(r"q=demo-00351"))
        assert page.locator("#result_list tbody tr").count() == 1

        # Review, grade and tag it.
        page.locator("#result_list tbody tr").first.locator("th a").click()
        page.wait_for_url(re.compile(r"/admin/journal/trade/\d+/change/"))
        assert page.locator("h1").inner_text() == "Trade DEMO-00351: Long 1.5 EURUSD"
        page.select_option("#id_review_status", "reviewed")
        page.select_option("#id_grade", "A")
        page.fill("#id_notes", "Waited for the retest; textbook.")
        page.fill("#id_tags", "retest, a-setup")
        no_overflow(page)
        shot(page, "02-reviewer-review-form")
        page.click("input[name=_save]")
        page.wait_for_url(re.compile(r"/admin/journal/trade/\?.*q=demo-00351"))
        assert page.locator("#result_list .review-reviewed").count() == 1

        # Found again by its tag and grade from the whole list.
        page.goto(f"{live_server.url}/admin/journal/trade/")
        page.locator("#changelist-filter a", has_text="retest").first.click()
        page.wait_for_url(re.compile(r"tag=retest"))
        page.locator("#changelist-filter a", has_text=re.compile(r"^A\b")).first.click()
        page.wait_for_url(re.compile(r"grade=A"))
        assert page.locator("#result_list tbody tr").count() == 1
        shot(page, "03-reviewer-by-tag-and-grade")

        # The export carries what the filters select, with the review.
        with page.expect_download() as download:
            page.click("#export-csv")
        exported = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["trade_id"] for row in rows] == ["DEMO-00351"]
    assert (rows[0]["review_status"], rows[0]["review_grade"]) == ("reviewed", "A")
    assert set(rows[0]["review_tags"].replace(";", ",").replace(" ", "").split(",")) == {
        "retest",
        "a-setup",
    }
    assert rows[0]["reviewed_by"] == "rita-reviewer"
    review = TradeReview.objects.get(trade__trade_id="DEMO-00351")
    assert (review.grade, sorted(review.tags)) == ("A", ["a-setup", "retest"])


# -- the risk manager --------------------------------------------------------------------


def test_a_risk_manager_loosens_a_limit_with_a_reason_and_approves_an_idea(
    live_server, django_user_model, settings
):
    from desk.models import (
        Action,
        Decision,
        IdeaStatus,
        LimitChangeRequest,
        RiskConfigChange,
        TradeIdea,
    )
    from desk.services import idea_submit, risk_config_get, risk_config_update
    from tests.desk.conftest import idea, live_market

    manager = member(django_user_model, "rosa-risk", "Risk manager")
    second = member(django_user_model, "sam-risk", "Risk manager")
    settings.FOUR_EYES = True
    live_market()
    risk_config_update(
        changes={"ai_trading_enabled": True, "watchlist": ["EURUSD"], "max_lot_size": Decimal(1)},
        actor="setup",
        reason="the desk of the test",
    )
    # Two ideas off the watchlist wait for a person; the older one is first in the queue.
    older, _ = idea_submit(
        idea=idea(
            symbol="GBPUSD",
            entry_price=Decimal("1.2700"),
            stop_loss=Decimal("1.2650"),
            take_profit=Decimal("1.2800"),
        ),
        actor="ai-engine",
    )
    newer, _ = idea_submit(
        idea=idea(
            symbol="GBPUSD",
            entry_price=Decimal("1.2700"),
            stop_loss=Decimal("1.2650"),
            take_profit=Decimal("1.2800"),
            confidence_score=Decimal("0.9"),
        ),
        actor="ai-engine",
    )
    done, _ = idea_submit(idea=idea(), actor="ai-engine")
    assert {older.status, newer.status} == {IdeaStatus.NEEDS_APPROVAL}
    TradeIdea.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(minutes=25))

    with browser_page() as page:
        log_in(page, live_server.url, manager.username, "/admin/desk/riskconfig/")
        assert page.locator("h1").inner_text() == "Risk limits"
        no_number_of_eight_decimals(page)
        no_overflow(page)
        shot(page, "10-risk-limits")

        # Raise the maximum lot: a reason is asked for first.
        page.fill("#id_max_lot_size", "2")
        page.click("input[name=_save]")
        assert "Say why the limits change" in page.locator("#content").inner_text()
        shot(page, "11-risk-limits-reason-needed")
        page.fill("#id_reason", "Bigger desk from Monday, agreed with the head of trading")
        page.click("input[name=_save]")

        # Loosening asks to confirm, the limit old -> new.
        page.wait_for_selector("#loosened-limits")
        assert page.locator("h1").inner_text() == "Confirm the looser limits"
        row = page.locator('#loosened-limits tr[data-limit="max_lot_size"]')
        assert row.inner_text().split("\t") == ["Maximum lot size", "1 lot", "2 lots"]
        no_overflow(page)
        shot(page, "12-risk-limits-confirm")
        page.click("#confirm-limits")

        # Four eyes: the looser limit waits for a second person; the old one holds.
        page.wait_for_selector(".messagelist .warning")
        assert "Waiting for a second person" in page.locator(".messagelist").inner_text()
        assert "Maximum lot size 1 lot → 2 lots" in page.locator("#content").inner_text()
        shot(page, "13-risk-limits-waiting")
        # The second risk manager finds it in the queue (no database call here: the
        # browser's event loop runs on this thread).
        log_out(page)
        log_in(page, live_server.url, second.username, "/admin/desk/limitchangerequest/")
        page.locator("#result_list tbody tr a").first.click()
        page.wait_for_url(re.compile(r"/admin/desk/limitchangerequest/\d+/change/"))
        assert "Bigger desk from Monday" in page.locator("#content").inner_text()
        shot(page, "13b-limit-change-for-a-second-person")
        page.click("#confirm-request")
        page.wait_for_selector(".messagelist .success")
        page.goto(f"{live_server.url}/admin/desk/riskconfig/")
        audit = page.locator("table.risk-changes tbody tr").first.inner_text()
        assert "Maximum lot size\t1 lot\t2 lots\tBigger desk from Monday" in audit
        shot(page, "13c-risk-limits-saved-audit")
        log_out(page)
        log_in(page, live_server.url, manager.username, "/admin/desk/tradeidea/")

        # The approval queue: waiting ideas first, oldest first, with their age.
        page.goto(f"{live_server.url}/admin/desk/tradeidea/")
        first = page.locator("#result_list tbody tr").first
        assert f"#{older.pk} Long GBPUSD" in first.inner_text()
        assert "25 min" in first.inner_text()
        assert "Risk limits" in page.locator("#nav-sidebar").inner_text()
        assert "needs_approval" not in page.locator("#content").inner_text()
        no_overflow(page)
        shot(page, "14-idea-queue")
        first.locator("a", has_text=f"#{older.pk}").first.click()
        page.wait_for_url(re.compile(rf"/admin/desk/tradeidea/{older.pk}/change/"))
        assert page.locator("h1").inner_text() == f"#{older.pk} Long GBPUSD: Needs approval"
        assert page.locator("input[name=_save]").count() == 0
        assert "Decided at" not in page.locator("#content").inner_text()
        assert page.locator("table.gate-table").count() == 1
        decision = page.locator("fieldset", has_text="Decision").first.inner_text()
        assert "Needs approval\nby a person" in decision and "25 min\nsince" in decision
        no_number_of_eight_decimals(page)
        no_overflow(page)
        shot(page, "15-idea-waiting")
        # Approving runs the gate again and shows its table; a reason is asked for.
        page.click("#approve-idea")
        page.wait_for_selector("#approve-form")
        assert page.locator("table.gate-table").count() == 1
        assert "asks for nothing but a person's approval" in page.locator("#content").inner_text()
        no_overflow(page)
        shot(page, "16-idea-approve-confirmation")
        page.fill("#id_reason", "GBP data is out and the level held")
        page.click("#approve-form input[type=submit]")
        page.wait_for_selector(".messagelist .success")
        assert "Approved by rosa-risk" in page.locator(".messagelist").inner_text()
        shot(page, "17-idea-approved")

    config = risk_config_get()
    assert config.max_lot_size == Decimal(2)
    change = RiskConfigChange.objects.get(
        field="max_lot_size", actor="rosa-risk, confirmed by sam-risk"
    )
    assert change.reason.startswith("Bigger desk from Monday")
    asked = LimitChangeRequest.objects.get()
    assert (asked.requested_by_id, asked.decided_by_id) == (manager.pk, second.pk)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, older.decided_by_id) == (IdeaStatus.APPROVED, manager.pk)
    assert newer.status == IdeaStatus.NEEDS_APPROVAL
    assert Decision.objects.filter(trade_idea=older, action=Action.HUMAN_APPROVED).count() == 1
    assert done.status == IdeaStatus.AUTO_EXECUTED


# -- the model manager -------------------------------------------------------------------


def test_a_model_manager_opens_a_model_version(live_server, django_user_model, settings, tmp_path):
    from models_registry import demo
    from models_registry.models import ModelAlias, RegisteredModel

    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    manager = member(django_user_model, "mona-models", "Model manager")
    demo.seed()
    version = ModelAlias.objects.get(model__name="trade-outcome-xgboost", name="production").version
    models, title = RegisteredModel.objects.count(), f"Model version {version}"
    with browser_page() as page:
        log_in(page, live_server.url, manager.username, "/admin/models_registry/registeredmodel/")
        assert page.locator("#result_list tbody tr").count() == models
        no_overflow(page)
        shot(page, "20-models")
        page.locator("#result_list a", has_text="trade-outcome-xgboost").first.click()
        page.wait_for_url(re.compile(r"/admin/models_registry/registeredmodel/\d+/change/"))
        no_overflow(page)
        shot(page, "21-model")
        page.goto(f"{live_server.url}/admin/models_registry/modelversion/{version.pk}/change/")
        content = page.locator("#content").inner_text()
        for feature in ("rsi_14", "macd_hist", "signal_confidence"):
            assert feature in content
        assert "production" in content and "xgboost" in content.lower()
        assert page.locator("input[name=_save]").count() == 0  # a page to read
        assert page.locator("h1").inner_text() == title
        no_number_of_eight_decimals(page)
        no_overflow(page)
        shot(page, "22-model-version")


def test_a_risk_manager_sets_up_a_strategy_without_json(live_server, django_user_model):
    from desk.models import Strategy
    from journal.instruments import instruments_seed

    manager = member(django_user_model, "rosa-risk", "Risk manager")
    instruments_seed()
    with browser_page() as page:
        log_in(page, live_server.url, manager.username, "/admin/desk/strategy/add/")
        page.fill("#id_name", "london-breakout")
        # The symbols from the instruments, picked from a list.
        for symbol in ("EURUSD", "GBPUSD"):
            page.select_option("#id_allowed_symbols_from", symbol)
            page.click("#id_allowed_symbols_add")
        page.fill("#id_rr_expectation", "2")
        # A session as a row: weekdays, from, to; a time past midnight's 23:59 is refused.
        for day in ("mon", "tue", "wed", "thu", "fri"):
            page.check(f'input[name="session_windows-0-days"][value="{day}"]')
        page.fill('input[name="session_windows-0-start"]', "25:00")
        page.fill('input[name="session_windows-0-end"]', "11:30")
        page.fill('input[name="forbidden_conditions-0-indicator"]', "atr_pct")
        page.select_option('select[name="forbidden_conditions-0-operator"]', ">")
        page.fill('input[name="forbidden_conditions-0-value"]', "2.5")
        page.fill("#id_cap_max_open_trades", "2")
        page.click("input[name=_save]")
        page.wait_for_selector(".errornote")
        errors = page.locator("#id_session_windows_error").inner_text()
        assert "Row 1" in errors and "25:00" in errors and "HH:MM" in errors, errors
        assert "^(" not in page.content() and "does not match" not in page.content()
        no_overflow(page)
        shot(page, "17-strategy-error")
        page.fill('input[name="session_windows-0-start"]', "7:00")  # as people type it
        page.click("input[name=_save]")
        page.wait_for_url(re.compile(r"/admin/desk/strategy/$"))
        row = page.locator("#result_list tbody tr").first.inner_text()
        assert "london-breakout" in row and "EURUSD, GBPUSD" in row and "2 : 1" in row
        no_overflow(page)
        shot(page, "18-strategies")
    strategy = Strategy.objects.get(name="london-breakout")
    assert strategy.allowed_symbols == ["EURUSD", "GBPUSD"]
    assert strategy.rr_expectation == Decimal(2)
    (window,) = strategy.session_windows
    assert (window["start"], window["end"]) == ("07:00", "11:30")
    assert window["days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert strategy.risk_caps == {"max_open_trades": 2}
