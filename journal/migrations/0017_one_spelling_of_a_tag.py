"""One spelling of a tag, and mistakes as tags (issue 29).

- Every stored review tag is spelled as journal.tags spells new ones (NFKC, case-folded,
  spaces collapsed): "Chased", "chased" and " chased " become one tag, "chased", and a
  review that had two of them keeps one.
- A review's mistakes were free text; they become a list of tags too, so that the
  dashboard can set the trades with a mistake against those without it and say what it
  cost. The text is split at commas, semicolons and line ends and each part spelled as
  a tag. Where a part cannot be a tag (longer than 40 characters, a control
  character, more than 20 parts), the parts that can are kept as mistakes and the whole
  text, as it was written, is added to the review's notes: nothing typed is lost.

These are spelling merges, not a reviewer's decisions: no ReviewChange is written (a
change there names the person who made it, and no person made this one); the history's
old values keep the spelling they had. A GIN index serves the mistake filter as the
tags' serves theirs (PostgreSQL only). Reversed, the mistakes become text again (the
tags keep their one spelling).
"""

import re

from django.db import migrations, models

from backoffice.core.db.operations import RunSQLIfPostgreSQL
from journal import tags as tag_rules

BATCH = 2000
PARTS = re.compile(r"[,;\r\n]+")
NOTE = "Mistakes as written before they became tags: "


def respelled(words) -> list[str]:
    """The stored words in their one spelling, merged and sorted (nothing refused:
    the rules apply on the way in; what is stored keeps its words)."""
    spelled = {tag_rules.spelling(word) for word in words if isinstance(word, str)}
    return sorted(word for word in spelled if word)


def mistakes_of(text: str) -> tuple[list[str], bool]:
    """(the mistakes the text names, whether the text said more than they do)."""
    parts = [tag_rules.spelling(part) for part in PARTS.split(text or "")]
    parts = [part for part in parts if part]
    kept = sorted({part for part in parts if tag_rules.problem(part) is None})
    whole = len(kept) == len(set(parts)) and len(kept) <= tag_rules.MAX_TAGS
    return kept[: tag_rules.MAX_TAGS], not whole


def forwards(apps, schema_editor):
    review_model = apps.get_model("journal", "TradeReview")
    alias = schema_editor.connection.alias
    rows = (
        review_model.objects.using(alias)
        .order_by("pk")
        .only("pk", "tags", "notes", "mistakes_text")
    )
    changed = []
    for review in rows.iterator(chunk_size=BATCH):
        tags = respelled(review.tags if isinstance(review.tags, list) else [])
        mistakes, more = mistakes_of(review.mistakes_text)
        notes = review.notes
        if more:
            notes = (
                f"{notes}\n\n{NOTE}{review.mistakes_text}"
                if notes
                else (f"{NOTE}{review.mistakes_text}")
            )
        if (tags, mistakes, notes) != (review.tags, [], review.notes):
            review.tags, review.mistakes, review.notes = tags, mistakes, notes
            changed.append(review)
        if len(changed) >= BATCH:
            review_model.objects.using(alias).bulk_update(changed, ["tags", "mistakes", "notes"])
            changed = []
    if changed:
        review_model.objects.using(alias).bulk_update(changed, ["tags", "mistakes", "notes"])


def backwards(apps, schema_editor):
    review_model = apps.get_model("journal", "TradeReview")
    alias = schema_editor.connection.alias
    changed = []
    for review in (
        review_model.objects.using(alias).only("pk", "mistakes").iterator(chunk_size=BATCH)
    ):
        if review.mistakes:
            review.mistakes_text = tag_rules.text_of(review.mistakes)
            changed.append(review)
    review_model.objects.using(alias).bulk_update(changed, ["mistakes_text"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("journal", "0016_quarantine_resubmission")]

    operations = [
        migrations.RenameField(
            model_name="tradereview", old_name="mistakes", new_name="mistakes_text"
        ),
        migrations.AddField(
            model_name="tradereview",
            name="mistakes",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="the mistakes made, as tags: chased, moved stop",
            ),
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
        migrations.RemoveField(model_name="tradereview", name="mistakes_text"),
        RunSQLIfPostgreSQL(
            "CREATE INDEX IF NOT EXISTS journal_review_mistakes_idx ON journal_tradereview "
            "USING gin (mistakes jsonb_path_ops)",
            "DROP INDEX IF EXISTS journal_review_mistakes_idx",
        ),
    ]
