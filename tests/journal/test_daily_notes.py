"""Daily notes (the plan before a session, the review after) and the weekly recap.

A reviewer writes a day's note in Markdown; the day's page (the URL the dashboard's
calendar links to) and the week's recap render it safely; the recap's figures are the
journal's own, over the trades that closed in the week (UTC, Monday to Sunday).
"""

from __future__ import annotations

import html.parser
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from journal.models import DailyNote, Trade
from journal.notes.markdown import ATTRIBUTES, TAGS, markdown_html
from journal.notes.recap import BadWeek, week_recap, week_start
from journal.reviews import trade_review
from journal.write.capture import record_trades
from tests.admin.conftest import staff_member
from tests.journal.conftest import trade_data

HOSTILE = (
    "<script>document.title='xss'</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://tracker.example/p.gif)",
    '<a href="https://x" style="color:red" onclick="x()">a</a>',
    "<iframe src=https://evil.example></iframe>",
    "```\n<script>in code</script>\n```",
    "<svg><script>alert(1)</script></svg>",
    "[x](vbscript:msgbox)",
    '<div style="background:url(javascript:alert(1))">',
)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def tags_of(markup: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(markup)
    return parser.found


def assert_safe(markup: str) -> None:
    for tag, attrs in tags_of(markup):
        assert tag in TAGS, tag
        for name, value in attrs.items():
            assert name in ATTRIBUTES.get(tag, set()) | {"rel"}, (tag, name)
            if name == "href":
                assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), value


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_is_rendered_without_anything_that_runs_or_loads(text):
    markup = str(markdown_html(text))
    assert_safe(markup)
    for tag, attrs in tags_of(markup):
        assert tag not in ("script", "img", "iframe", "svg", "div")
        assert not any(name == "style" or name.startswith("on") for name in attrs)
    assert "javascript:" not in "".join(str(a.get("href")) for _, a in tags_of(markup)).lower()


def test_markdown_keeps_what_a_trader_writes():
    markup = str(
        markdown_html(
            "## Plan\n\n- **Long** EURUSD above *1.0850*\n- ~~chase~~\n\n"
            "| level | why |\n|---|---|\n| 1.0850 | yesterday's high |\n\n"
            "[calendar](https://example.com/calendar)"
        )
    )
    assert "<strong>Long</strong>" in markup and "<em>1.0850</em>" in markup
    assert "<del>chase</del>" in markup or "<s>chase</s>" in markup
    assert "<td>yesterday's high</td>" in markup or "<td>yesterday&#x27;s high</td>" in markup
    assert 'href="https://example.com/calendar"' in markup and "noopener" in markup


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                ["<", ">", "<script>", "](", "[", "javascript:", "`", "*", "|", "\n", "&#", '"']
            ),
        ),
        max_size=30,
    ).map("".join)
)
def test_any_text_renders_to_allowed_tags_and_attributes_only(text):
    assert_safe(str(markdown_html(text)))


# -- the admin --------------------------------------------------------------------------


@pytest.fixture
def reviewer(db, django_user_model):
    from importlib import import_module
    from types import SimpleNamespace

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    user = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    migration = import_module("journal.migrations.0022_daily_note_permissions")
    state = MigrationLoader(connection).project_state(("journal", "0022_daily_note_permissions"))
    migration.grant(state.apps, SimpleNamespace(connection=connection))
    return django_user_model.objects.get(pk=user.pk)


def note_form(**values) -> dict:
    return {
        "day": "2026-06-08",
        "account": "",
        "strategy": "",
        "bias": "bullish",
        "levels": "",
        "rules": "",
        "plan": "",
        "review": "",
        "rules_broken": "",
        **values,
    }


def test_a_reviewer_writes_the_days_note_and_reads_it_on_the_days_page(client, reviewer):
    client.force_login(reviewer)
    add = reverse("admin:journal_dailynote_add")
    assert 'value="2026-06-08"' in client.get(add + "?day=2026-06-08").content.decode()
    response = client.post(
        add + "?day=2026-06-08",
        note_form(
            levels="- **1.0850** yesterday's high",
            plan="Wait for the retest. <script>document.title='xss'</script>",
            review="Chased the *first* break.",
            rules_broken="No trade before 09:00\nOne loss, then stop",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    note = DailyNote.objects.get()
    assert (note.written_by, note.updated_by) == (reviewer, reviewer)
    page = client.get(reverse("admin:journal_dailynote_changelist") + "?day=2026-06-08")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Notes of Monday 8 June 2026" in text
    assert "<strong>1.0850</strong>" in text and "<em>first</em>" in text
    assert "<script>document.title" not in text and "&lt;script&gt;" in text
    assert "<li>One loss, then stop</li>" in text
    assert "executed_from=2026-06-08&amp;executed_to=2026-06-08" in text  # the day's trades
    # Another day has none yet, and offers to write it.
    other = client.get(reverse("admin:journal_dailynote_changelist") + "?day=2026-06-09")
    assert 'id="no-day-note"' in other.content.decode()
    assert "add/?day=2026-06-09" in other.content.decode()


def test_one_note_a_day_per_scope(client, reviewer):
    client.force_login(reviewer)
    add = reverse("admin:journal_dailynote_add")
    assert client.post(add, note_form()).status_code == 302
    again = client.post(add, note_form(plan="again"))
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert client.post(add, note_form(account="desk-2")).status_code == 302
    assert client.post(add, note_form(strategy="breakout")).status_code == 302
    assert DailyNote.objects.count() == 3


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"plan": "x\x00y"}, "Null characters are not allowed"),
        ({"review": "x" * 20_001}, "20,000"),
        ({"day": "2026-02-30"}, "Enter a valid date"),
        ({"bias": "sideways"}, "Select a valid choice"),
        ({"account": "a" * 65}, "at most 64"),
    ],
)
def test_a_bad_note_is_refused_on_its_field(client, reviewer, values, says):
    client.force_login(reviewer)
    response = client.post(reverse("admin:journal_dailynote_add"), note_form(**values))
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not DailyNote.objects.exists()


@pytest.mark.parametrize("day", ["2026-13-40", "yesterday", "99999-01-01"])
def test_a_bad_day_is_a_400_page_not_a_500(client, reviewer, day):
    client.force_login(reviewer)
    response = client.get(reverse("admin:journal_dailynote_changelist"), {"day": day})
    assert response.status_code == 400
    assert "cannot be filtered so" in response.content.decode()


def test_the_trade_page_links_the_notes_of_its_day(client, reviewer):
    record_trades([trade_data(opened=datetime(2026, 6, 8, 9, tzinfo=UTC))])
    trade = Trade.objects.get()
    client.force_login(reviewer)
    page = client.get(reverse("admin:journal_trade_change", args=[trade.pk])).content.decode()
    assert "/admin/journal/dailynote/?day=2026-06-08" in page
    listed = client.get(
        reverse("admin:journal_trade_changelist"),
        {"executed_from": "2026-06-08", "executed_to": "2026-06-08"},
    ).content.decode()
    assert "/admin/journal/dailynote/?day=2026-06-08" in listed


def test_an_operator_reads_no_notes(client, django_user_model):
    from tests.journal.conftest import operator_member

    client.force_login(operator_member(django_user_model, "olga-operator"))
    assert client.get(reverse("admin:journal_dailynote_changelist")).status_code == 403
    assert client.get(reverse("admin:journal_dailynote_week")).status_code == 403


# -- the weekly recap -------------------------------------------------------------------

MONDAY = date(2026, 6, 1)  # a past week: the suite's clock stands on Wednesday 10 June


def closed_trade(closed: datetime, pnl: str, **overrides) -> dict:
    opened = closed - timedelta(hours=1)
    return trade_data(
        opened=opened,
        closed_at=closed.isoformat(),
        pnl=pnl,
        fees="0",
        exit_price=str((Decimal("1.08450") + Decimal(pnl) / 150000).quantize(Decimal("0.00001"))),
        stop_loss="1.08350",
        **overrides,
    )


def test_week_start_reads_iso_weeks_and_days():
    today = date(2026, 6, 10)
    assert week_start("", today=today) == date(2026, 6, 8)
    assert week_start("2026-W24", today=today) == date(2026, 6, 8)
    assert week_start("2026-06-14", today=today) == date(2026, 6, 8)  # Sunday: the same week
    assert week_start("2026-06-15", today=today) == date(2026, 6, 15)
    for bad in ("2026-W54", "next week", "9999-W01", "1900-01-01", "2026-W0"):
        with pytest.raises(BadWeek):
            week_start(bad, today=today)


def test_the_recap_counts_the_trades_that_closed_in_the_week(db, reviewer):
    sunday_night = datetime(2026, 6, 7, 23, 59, 59, tzinfo=UTC)
    next_monday = datetime(2026, 6, 8, 0, 0, tzinfo=UTC)
    records = [
        closed_trade(datetime(2026, 6, 1, 10, tzinfo=UTC), "150.00", trade_id="BEST"),
        closed_trade(datetime(2026, 6, 2, 10, tzinfo=UTC), "-75.00", trade_id="WORST"),
        closed_trade(datetime(2026, 6, 3, 10, tzinfo=UTC), "30.00", trade_id="SMALL"),
        closed_trade(sunday_night, "-15.00", trade_id="SUNDAY"),
        closed_trade(next_monday, "999.00", trade_id="NEXT-WEEK"),
        closed_trade(datetime(2026, 5, 31, 23, 59, tzinfo=UTC), "-999.00", trade_id="LAST-WEEK"),
        closed_trade(datetime(2026, 6, 4, 10, tzinfo=UTC), "40.00", account="desk-2"),
    ]
    record_trades(records)
    worst = Trade.objects.get(trade_id="WORST")
    trade_review(trade=worst, reviewer=reviewer, mistakes="Moved the stop")
    DailyNote.objects.create(
        day=date(2026, 6, 2),
        plan="**Plan**",
        rules_broken="Traded the news",
        written_by=reviewer,
        updated_by=reviewer,
    )
    recap = week_recap(start=MONDAY)
    s = recap.summary
    assert (s["trades"], s["wins"], s["losses"]) == (5, 3, 2)
    assert s["net_pnl"] == Decimal("130.00")
    assert [t.trade_id for t, _ in recap.best][:1] == ["BEST"]
    assert [t.trade_id for t, _ in recap.worst] == ["WORST", "SUNDAY"]
    assert {b.text for b in recap.rule_breaks} == {"moved the stop", "Traded the news"}
    assert recap.label == "2026-W23" and (recap.previous, recap.next) == ("2026-W22", "2026-W24")
    only = week_recap(start=MONDAY, account="desk-2")
    assert only.summary["trades"] == 1 and only.summary["net_pnl"] == Decimal("40.00")


def test_the_recap_page_shows_the_week(client, reviewer):
    record_trades(
        [
            closed_trade(datetime(2026, 6, 1, 10, tzinfo=UTC), "150.00", trade_id="BEST"),
            closed_trade(datetime(2026, 6, 2, 10, tzinfo=UTC), "-75.00", trade_id="WORST"),
        ]
    )
    DailyNote.objects.create(
        day=date(2026, 6, 2),
        review="Held the *loser* <script>x</script>",
        written_by=reviewer,
        updated_by=reviewer,
    )
    client.force_login(reviewer)
    page = client.get(reverse("admin:journal_dailynote_week"), {"week": "2026-W23"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Week 2026-W23" in text
    assert "+75.00" in text  # net P&L
    assert "50.0 %" in text  # win rate, the journal's one style
    # +1 R and -0.5 R (stops 0.00100 away): the week's total and its mean.
    assert "+0.50 R over 2 trade(s), +0.25 R a trade" in text
    assert "BEST" in text and "WORST" in text
    assert "<em>loser</em>" in text and "<script>x</script>" not in text
    bad = client.get(reverse("admin:journal_dailynote_week"), {"week": "2026-W99"})
    assert bad.status_code == 400 and "not a week of the calendar" in bad.content.decode()
