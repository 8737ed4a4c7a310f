"""Reviews: apart from execution data, every change recorded (who, when, old → new)."""

import threading

import pytest
from django.db import connection

from journal.models import ReviewChange, Trade, TradeReview
from journal.reviews import ReviewRejected, trade_review
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data


@pytest.fixture
def trade(db):
    record_trades([trade_data(trade_id="REV-1")])
    return Trade.objects.get(trade_id="REV-1")


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_user("rita", is_staff=True)


@pytest.mark.smoke
def test_a_review_records_each_changed_field(trade, reviewer):
    trade_review(trade=trade, reviewer=reviewer, status="reviewed", grade="b", tags="fomo, late")
    review = TradeReview.objects.get(trade=trade)
    assert (review.status, review.grade, review.tags) == ("reviewed", "B", ["fomo", "late"])
    assert review.reviewed_by == reviewer and review.reviewed_at is not None
    changes = {c.field: (c.old_value, c.new_value) for c in review.changes.all()}
    assert changes == {
        "status": ("unreviewed", "reviewed"),
        "grade": ("", "B"),
        "tags": ("", "fomo, late"),
    }
    assert all(c.changed_by == reviewer for c in review.changes.all())


@pytest.mark.smoke
def test_an_unchanged_value_writes_no_history(trade, reviewer):
    trade_review(trade=trade, reviewer=reviewer, notes="entered early")
    trade_review(trade=trade, reviewer=reviewer, notes="entered early")
    assert ReviewChange.objects.count() == 1


@pytest.mark.smoke
def test_flagging_needs_a_reason_and_keeps_it(trade, reviewer):
    with pytest.raises(ReviewRejected, match="reason"):
        trade_review(trade=trade, reviewer=reviewer, status="flagged")
    trade_review(trade=trade, reviewer=reviewer, status="flagged", reason="size over limit")
    change = ReviewChange.objects.get(field="status")
    assert (change.new_value, change.reason) == ("flagged", "size over limit")


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("changes", "field"),
    [({"status": "done"}, "status"), ({"grade": "Z"}, "grade"), ({"pnl": "5"}, "pnl")],
)
def test_bad_review_values_are_refused_by_field(trade, reviewer, changes, field):
    with pytest.raises(ReviewRejected) as info:
        trade_review(trade=trade, reviewer=reviewer, **changes)
    assert info.value.field == field
    assert not TradeReview.objects.exists()


@pytest.mark.smoke
def test_reviewing_never_touches_the_execution_data(trade, reviewer):
    before = Trade.objects.filter(pk=trade.pk).values().get()
    trade_review(trade=trade, reviewer=reviewer, status="reviewed", notes="ok")
    assert Trade.objects.filter(pk=trade.pk).values().get() == before


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_saving_at_once_both_land_in_the_history(django_user_model):
    record_trades([trade_data(trade_id="REV-2")])
    trade = Trade.objects.get(trade_id="REV-2")
    people = [django_user_model.objects.create_user(n, is_staff=True) for n in ("ann", "bob")]
    errors = []

    def save(person, note):
        try:
            trade_review(trade=trade, reviewer=person, notes=note)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(p, f"note by {p}")) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert TradeReview.objects.count() == 1
    assert ReviewChange.objects.filter(field="notes").count() == 2
