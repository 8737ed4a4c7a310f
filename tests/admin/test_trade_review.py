"""Reviewing on the trade's page and in bulk: every change through the review service."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission

from journal.admin import trades as journal_admin
from journal.models import ReviewChange, Trade, TradeReview
from journal.reviews import trade_review
from tests.admin.conftest import make_trades

pytestmark = pytest.mark.smoke

LIST = "/admin/journal/trade/"


def page(trade) -> str:
    return f"/admin/journal/trade/{trade.pk}/change/"


def review_form(**values) -> dict:
    form = {
        "review_status": "unreviewed",
        "grade": "",
        "tags": "",
        "notes": "",
        "mistakes": "",
        "reason": "",
        "_save": "Save",
    }
    form.update(values)
    return form


def history(trade) -> dict[str, tuple[str, str, str]]:
    return {
        c.field: (c.old_value, c.new_value, c.reason)
        for c in ReviewChange.objects.filter(review__trade_id=trade.pk)
    }


def test_a_reviewer_reviews_a_trade_and_its_page_shows_the_history(reviewer_client, reviewer):
    trade = make_trades(1)[0]
    form_page = reviewer_client.get(page(trade)).content.decode()
    for name in ("review_status", "grade", "tags", "notes", "mistakes", "reason"):
        assert f'name="{name}"' in form_page, name
    assert "No review yet." in form_page
    response = reviewer_client.post(
        page(trade),
        review_form(review_status="reviewed", grade="B", tags="late, fomo", notes="on plan"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    review = TradeReview.objects.get(trade_id=trade.pk)
    assert (review.status, review.grade, review.tags, review.notes) == (
        "reviewed",
        "B",
        ["fomo", "late"],
        "on plan",
    )
    assert review.reviewed_by == reviewer
    assert history(trade) == {
        "status": ("unreviewed", "reviewed", ""),
        "grade": ("", "B", ""),
        "tags": ("", "fomo, late", ""),
        "notes": ("", "on plan", ""),
    }
    html = reviewer_client.get(page(trade)).content.decode()
    assert html.count('class="review-change"') == 4
    assert "rita-reviewer" in html and "on plan" in html
    listed = reviewer_client.get(LIST).content.decode()
    assert 'class="review-reviewed"' in listed


def test_a_reviewer_cannot_change_execution_fields(reviewer_client):
    trade = make_trades(1)[0]
    before = Trade.objects.filter(pk=trade.pk).values().get()
    html = reviewer_client.get(page(trade)).content.decode()
    for field in ("quantity", "entry_price", "pnl", "symbol", "executed_at", "trade_id"):
        assert f'name="{field}"' not in html, field
    response = reviewer_client.post(
        page(trade),
        review_form(quantity="999", pnl="1000000", symbol="XAUUSD", side="short", notes="x"),
    )
    assert response.status_code == 302
    assert Trade.objects.filter(pk=trade.pk).values().get() == before
    assert TradeReview.objects.get(trade_id=trade.pk).notes == "x"


def test_saving_an_unchanged_review_writes_no_history(reviewer_client, reviewer):
    trade = make_trades(1)[0]
    trade_review(trade=trade, reviewer=reviewer, status="reviewed", grade="A")
    response = reviewer_client.post(page(trade), review_form(review_status="reviewed", grade="A"))
    assert response.status_code == 302
    assert ReviewChange.objects.count() == 2


def test_flagging_on_the_page_needs_a_reason_and_keeps_it(reviewer_client):
    trade = make_trades(1)[0]
    refused = reviewer_client.post(page(trade), review_form(review_status="flagged"))
    assert refused.status_code == 200
    assert "Say why the trade is flagged." in refused.content.decode()
    assert not TradeReview.objects.exists()
    accepted = reviewer_client.post(
        page(trade), review_form(review_status="flagged", reason="size over limit")
    )
    assert accepted.status_code == 302
    assert history(trade) == {"status": ("unreviewed", "flagged", "size over limit")}


def test_bad_review_values_are_refused_by_field(reviewer_client):
    trade = make_trades(1)[0]
    many = ", ".join(f"tag-{n}" for n in range(30))
    response = reviewer_client.post(page(trade), review_form(grade="Z", tags=many))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice" in html and "At most 20 tags" in html
    assert not TradeReview.objects.exists()


def test_mark_reviewed_reviews_the_selected_trades(reviewer_client, reviewer):
    first, _second, third = make_trades(3)
    response = reviewer_client.post(
        LIST, {"action": "mark_reviewed", "_selected_action": [first.pk, third.pk]}
    )
    assert response.status_code == 302
    statuses = dict(TradeReview.objects.values_list("trade_id", "status"))
    assert statuses == {first.pk: "reviewed", third.pk: "reviewed"}
    assert set(ReviewChange.objects.values_list("changed_by", flat=True)) == {reviewer.pk}


def test_a_bulk_action_refuses_more_trades_than_its_limit(reviewer_client, monkeypatch):
    monkeypatch.setattr(journal_admin, "BULK_LIMIT", 2)
    trades = make_trades(3)
    response = reviewer_client.post(
        LIST,
        {"action": "mark_reviewed", "_selected_action": [t.pk for t in trades]},
        follow=True,
    )
    assert "Select at most 2 trades" in response.content.decode()
    assert not TradeReview.objects.exists()


def test_flag_with_reason_asks_for_the_reason_then_flags(reviewer_client, reviewer):
    first, second = make_trades(2)
    response = reviewer_client.post(
        LIST, {"action": "flag_with_reason", "_selected_action": [first.pk, second.pk]}
    )
    assert response.status_code == 302
    flag_url = response["Location"]
    assert flag_url.startswith("/admin/journal/trade/flag/?ids=")
    intermediate = reviewer_client.get(flag_url).content.decode()
    assert first.trade_id in intermediate and second.trade_id in intermediate
    assert 'name="reason"' in intermediate
    ids = flag_url.split("ids=")[1]
    refused = reviewer_client.post("/admin/journal/trade/flag/", {"ids": ids, "reason": ""})
    assert refused.status_code == 200 and not TradeReview.objects.exists()
    done = reviewer_client.post(
        "/admin/journal/trade/flag/", {"ids": ids, "reason": "outside the session window"}
    )
    assert done.status_code == 302 and done["Location"] == LIST
    for trade in (first, second):
        assert history(trade) == {"status": ("unreviewed", "flagged", "outside the session window")}


def test_flagging_from_a_filtered_list_comes_back_to_the_same_filters(reviewer_client):
    gbp = make_trades(2, symbol="GBPUSD")
    make_trades(1, start_days_ago=5)
    filtered = f"{LIST}?symbol=GBPUSD&review=unreviewed"
    response = reviewer_client.post(
        filtered, {"action": "flag_with_reason", "_selected_action": [gbp[0].pk]}
    )
    flag_url = response["Location"]
    page = reviewer_client.get(flag_url).content.decode()
    assert 'name="_changelist_filters" value="symbol=GBPUSD&amp;review=unreviewed"' in page
    assert f'href="{LIST}?symbol=GBPUSD&amp;review=unreviewed" class="button cancel-link"' in page
    done = reviewer_client.post(
        "/admin/journal/trade/flag/",
        {
            "ids": str(gbp[0].pk),
            "reason": "chased the move",
            "_changelist_filters": "symbol=GBPUSD&review=unreviewed",
        },
    )
    assert done.status_code == 302
    assert done["Location"] == f"{LIST}?symbol=GBPUSD&review=unreviewed"
    # Marking as reviewed stays on the list it was asked from (Django's own redirect).
    marked = reviewer_client.post(
        filtered, {"action": "mark_reviewed", "_selected_action": [gbp[1].pk]}
    )
    assert marked.status_code == 302 and marked["Location"] == filtered


def test_the_way_back_from_the_flag_page_is_always_the_trade_list(reviewer_client):
    trade = make_trades(1)[0]
    for hostile in ("//evil.example/x", "\r\nLocation: http://evil.example", "a=<script>"):
        done = reviewer_client.post(
            "/admin/journal/trade/flag/",
            {"ids": str(trade.pk), "reason": "late", "_changelist_filters": hostile},
        )
        assert done.status_code == 302, hostile
        assert done["Location"].startswith(f"{LIST}"), done["Location"]
        assert "\n" not in done["Location"] and "//evil" not in done["Location"]


def test_nobody_deletes_or_adds_a_trade_not_even_a_superuser(admin_client):
    trade = make_trades(1)[0]
    assert admin_client.get(f"/admin/journal/trade/{trade.pk}/delete/").status_code == 403
    assert (
        admin_client.post(f"/admin/journal/trade/{trade.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get("/admin/journal/trade/add/").status_code == 403
    html = admin_client.get(LIST).content.decode()
    assert "delete_selected" not in html
    assert Trade.objects.filter(pk=trade.pk).exists()


def test_someone_who_may_only_view_trades_sees_the_review_read_only(
    client, django_user_model, reviewer
):
    viewer = django_user_model.objects.create_user("vic-viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_trade"))
    client.force_login(viewer)
    trade = make_trades(1)[0]
    trade_review(trade=trade, reviewer=reviewer, status="reviewed", grade="C", notes="late")
    html = client.get(page(trade)).content.decode()
    assert 'name="review_status"' not in html and 'name="_save"' not in html
    assert "late" in html and ">C<" in html
    assert (
        client.post(page(trade), review_form(review_status="flagged", reason="x")).status_code
        == 403
    )
    assert TradeReview.objects.get().status == "reviewed"
    assert "mark_reviewed" not in client.get(LIST).content.decode()


def test_reviews_and_their_history_are_read_only_in_their_own_lists(reviewer_client, reviewer):
    trade = make_trades(1)[0]
    review = trade_review(trade=trade, reviewer=reviewer, status="reviewed")
    change = ReviewChange.objects.get()
    assert reviewer_client.get("/admin/journal/tradereview/").status_code == 200
    assert reviewer_client.get("/admin/journal/reviewchange/").status_code == 200
    url = f"/admin/journal/tradereview/{review.pk}/change/"
    assert 'name="_save"' not in reviewer_client.get(url).content.decode()
    assert reviewer_client.post(url, {"status": "flagged"}).status_code == 403
    assert reviewer_client.get("/admin/journal/reviewchange/add/").status_code == 403
    assert (
        reviewer_client.post(f"/admin/journal/reviewchange/{change.pk}/delete/", {"post": "yes"})
    ).status_code == 403
    assert TradeReview.objects.get().status == "reviewed"


def test_the_trade_page_links_its_model_version_and_the_desk_records_around_it(admin_client):
    from models_registry.models import ModelVersion, RegisteredModel

    version = ModelVersion.objects.create(
        model=RegisteredModel.objects.create(name="regime-lstm"),
        version=1,
        framework="xgboost",
        artifact_path="artifacts/cd/cd.json",
        sha256="cd" * 32,
        size=10,
        output_kind="probability",
    )
    trade = make_trades(1, model_version="regime-lstm@1", symbol="GBPUSD")[0]
    html = admin_client.get(page(trade)).content.decode()
    assert f'href="/admin/models_registry/modelversion/{version.pk}/change/">regime-lstm@1<' in html
    for text in ("trade ideas for GBPUSD within a day", "decisions for GBPUSD within a day"):
        link = re.search(rf'href="([^"]+)">{text}<', html)
        assert link, text
        listing = admin_client.get(unescape(link.group(1)))
        assert listing.status_code == 200, text  # the desk's list accepts the filter
