"""Promotions need evidence (issue 27): a challenger's promotion records the live rows
both versions had scored, and one made on fewer than MODEL_PROMOTION_MIN_ROWS carries
a reason (a constraint). Earlier moves have no count and are not marked thin.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0008_alias_challenger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="aliasmove",
            name="evidence_rows",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="aliasmove",
            name="thin_evidence",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="aliasmove",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("thin_evidence", False),
                    models.Q(
                        models.Q(("reason", ""), _negated=True), ("evidence_rows__isnull", False)
                    ),
                    _connector="OR",
                ),
                name="aliasmove_thin_evidence_has_reason",
            ),
        ),
    ]
