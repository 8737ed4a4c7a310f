"""Alias moves that break clients (issue 17): ``breaking``, the recorded ``schema_diff``
and ``rollback_of``. A breaking move carries a reason (a constraint); the moves made
before this migration were not checked and are recorded as not breaking, with no diff.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0004_pickle_trust_and_skops"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="aliasmove",
            name="breaking",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="aliasmove",
            name="rollback_of",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="models_registry.aliasmove",
            ),
        ),
        migrations.AddField(
            model_name="aliasmove",
            name="schema_diff",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddIndex(
            model_name="aliasmove",
            index=models.Index(fields=["model", "alias", "-id"], name="aliasmove_model_alias_last"),
        ),
        migrations.AddConstraint(
            model_name="aliasmove",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("breaking", False), models.Q(("reason", ""), _negated=True), _connector="OR"
                ),
                name="aliasmove_breaking_has_reason",
            ),
        ),
    ]
