"""Reviews of trades: the staff's status, grade, tags, notes and mistakes, every change kept."""

from __future__ import annotations

from django.db import transaction

from journal.tags import TagProblem, clean_tags, text_of


class ReviewRejected(Exception):
    """A review change is invalid; ``field`` names the bad field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


REVIEW_FIELDS = ("status", "grade", "tags", "notes", "mistakes")
# Lists of tags, each spelled one way (journal.tags): the tags and the mistakes made.
TAG_FIELDS = ("tags", "mistakes")
GRADES = ("", "A", "B", "C", "D", "F")


def _clean_review_value(name: str, value):
    from journal.models import ReviewStatus

    if name == "status":
        if value not in ReviewStatus.values:
            raise ReviewRejected(name, f"must be one of {', '.join(ReviewStatus.values)}")
        return value
    if name == "grade":
        value = (value or "").strip().upper()
        if value not in GRADES:
            raise ReviewRejected(name, "must be A, B, C, D, F or empty")
        return value
    if name in TAG_FIELDS:
        # One spelling of a tag (journal.tags): "Chased" and " chased " are one tag.
        try:
            return clean_tags(value, what=name)
        except TagProblem as exc:
            raise ReviewRejected(name, str(exc)) from None
    value = (value or "").strip()
    if len(value) > 10_000:
        raise ReviewRejected(name, "must be at most 10,000 characters")
    return value


def _as_text(value) -> str:
    return text_of(value) if isinstance(value, list) else str(value)


@transaction.atomic
def trade_review(*, trade, reviewer, reason: str = "", **changes):
    """Change a trade's review; every changed field is recorded (who, when, old → new).

    Flagging needs a reason. Returns the review; raises ReviewRejected naming the field.
    """
    from django.utils import timezone

    from journal.models import ReviewChange, ReviewStatus, TradeReview

    unknown = set(changes) - set(REVIEW_FIELDS)
    if unknown:
        raise ReviewRejected(sorted(unknown)[0], "is not a review field")
    cleaned = {name: _clean_review_value(name, value) for name, value in changes.items()}
    reason = (reason or "").strip()[:500]
    if cleaned.get("status") == ReviewStatus.FLAGGED and not reason:
        raise ReviewRejected("reason", "flagging a trade needs a reason")
    # The row lock serialises two reviewers saving the same trade at once.
    review, _ = TradeReview.objects.select_for_update().get_or_create(trade_id=trade.pk)
    changed = []
    for name, value in cleaned.items():
        old = getattr(review, name)
        if old != value:
            changed.append(
                ReviewChange(
                    review=review,
                    changed_by=reviewer,
                    field=name,
                    old_value=_as_text(old),
                    new_value=_as_text(value),
                    reason=reason,
                )
            )
            setattr(review, name, value)
    if not changed:
        return review
    review.reviewed_by = reviewer
    review.reviewed_at = timezone.now()
    review.save()
    ReviewChange.objects.bulk_create(changed)
    if any(change.field in TAG_FIELDS for change in changed):
        from journal.selectors import forget_review_tags

        transaction.on_commit(forget_review_tags)
    return review
