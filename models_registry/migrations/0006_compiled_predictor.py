"""Compiled tree predictors (issue 20): where a version's compiled library is, its hash,
size, toolchain, agreement with the booster, and who compiled it when.

Every version starts uncompiled; ``manage.py compile_model`` fills these in.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0005_alias_move_breaking"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="compiled_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_by",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The operator (login@host) who ran manage.py compile_model.",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_max_error",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_path",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_sha256",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_size",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="compiled_toolchain",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("compiled_path", ""),
                        ("compiled_sha256", ""),
                        ("compiled_size__isnull", True),
                    ),
                    models.Q(
                        ("compiled_size__isnull", False),
                        ("framework__in", ["xgboost", "lightgbm"]),
                        models.Q(("compiled_sha256", ""), _negated=True),
                        models.Q(("compiled_path", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="model_version_compiled_whole_on_trees",
            ),
        ),
    ]
