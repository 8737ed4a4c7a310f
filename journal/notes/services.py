"""Writing a daily note: who wrote it and who changed it last, its text checked."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from journal.domain.trade_record import check_storable_text
from journal.models import NOTE_TEXT_LIMIT, DailyNote

TEXT_FIELDS = ("account", "strategy", "levels", "rules", "plan", "review", "rules_broken")


def note_text_problems(note: DailyNote) -> dict[str, str]:
    """What is wrong with a note's text fields: too long, a NUL, a lone surrogate."""
    problems = {}
    for name in TEXT_FIELDS:
        value = getattr(note, name) or ""
        try:
            check_storable_text(value)
        except ValueError as exc:
            problems[name] = f"This text {exc}."
            continue
        if len(value) > NOTE_TEXT_LIMIT:
            problems[name] = f"At most {NOTE_TEXT_LIMIT:,} characters (this has {len(value):,})."
    return problems


@transaction.atomic
def daily_note_write(*, note: DailyNote, user) -> DailyNote:
    """Save ``note`` (new or changed) as written by ``user``; ValidationError naming
    each bad field, the note of the same day and scope included."""
    note.account = (note.account or "").strip()
    note.strategy = (note.strategy or "").strip()
    problems = note_text_problems(note)
    if problems:
        raise ValidationError(problems)
    if note.pk is None:
        note.written_by = user
    note.updated_by = user
    note.full_clean(exclude=["written_by", "updated_by"])
    note.save()
    return note
