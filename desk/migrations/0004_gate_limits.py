"""The risk gate's new limits (issue 17), the approved status, an idea's prediction.

An idea a person approved was written as ``auto_executed``, like the gate's own; it
becomes ``approved`` (its Decision history already says human_approved). A desk that
has a risk config gets the new limits at their defaults, and their audit says so.
"""

from django.conf import settings
from django.db import migrations, models

NEW_LIMITS = (
    "currency",
    "require_stop_loss",
    "max_risk_per_trade",
    "max_risk_pct_of_equity",
    "max_daily_loss",
    "max_input_age_minutes",
)


def forward(apps, schema_editor):
    using = schema_editor.connection.alias
    idea_model = apps.get_model("desk", "TradeIdea")
    idea_model.objects.using(using).filter(status="auto_executed", decided_by__isnull=False).update(
        status="approved"
    )
    config = apps.get_model("desk", "RiskConfig").objects.using(using).first()
    if config is not None:
        apps.get_model("desk", "RiskConfigChange").objects.using(using).bulk_create(
            apps.get_model("desk", "RiskConfigChange")(
                actor="migration desk.0004",
                field=name,
                old_value="",
                new_value=str(getattr(config, name)),
            )
            for name in NEW_LIMITS
        )


def backward(apps, schema_editor):
    apps.get_model("desk", "TradeIdea").objects.using(schema_editor.connection.alias).filter(
        status="approved"
    ).update(status="auto_executed")


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0003_risk_manager_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="tradeidea",
            name="desk_idea_status_valid",
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="currency",
            field=models.CharField(
                default="USD",
                help_text="the account currency of every limit in money",
                max_length=5,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="default_lot_size",
            field=models.DecimalField(
                blank=True,
                decimal_places=8,
                help_text="the lot an idea without one is sized with; empty: such ideas wait for a person",
                max_digits=20,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="max_daily_loss",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                default=500,
                help_text="today's closed loss (UTC day) at which AI trading halts",
                max_digits=20,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="max_input_age_minutes",
            field=models.PositiveIntegerField(
                blank=True,
                default=60,
                help_text="an idea waits for a person when the account snapshot or the symbol's latest market bar is older than this",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="max_risk_pct_of_equity",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                default=1,
                help_text="the same risk as a percentage of the latest account equity",
                max_digits=5,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="max_risk_per_trade",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                default=250,
                help_text="the most one trade may lose at its stop: |entry - stop| x lot x point value",
                max_digits=20,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="require_stop_loss",
            field=models.BooleanField(
                default=True,
                help_text="an idea without a stop loss is never executed automatically",
            ),
        ),
        migrations.AddField(
            model_name="riskconfig",
            name="risk_account",
            field=models.CharField(
                blank=True,
                default="",
                help_text="the account whose latest snapshot gives the equity; empty: the latest snapshot of any account",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="tradeidea",
            name="prediction_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text="the prediction that proposed the idea (its id in the prediction API's answer)",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="riskconfig",
            name="ai_trading_enabled",
            field=models.BooleanField(default=False, verbose_name="AI trading enabled"),
        ),
        migrations.AlterField(
            model_name="tradeidea",
            name="status",
            field=models.CharField(
                choices=[
                    ("waiting", "Waiting"),
                    ("needs_approval", "Needs approval"),
                    ("auto_executed", "Auto-executed by the risk gate"),
                    ("approved", "Approved by a person"),
                    ("rejected", "Rejected"),
                    ("halted_by_risk", "Halted by risk"),
                ],
                default="waiting",
                max_length=15,
            ),
        ),
        migrations.AddIndex(
            model_name="tradeidea",
            index=models.Index(
                condition=models.Q(("prediction_id", ""), _negated=True),
                fields=["prediction_id"],
                name="desk_idea_prediction_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="riskconfig",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("default_lot_size__isnull", True),
                        ("default_lot_size__gt", 0),
                        _connector="OR",
                    ),
                    models.Q(
                        ("max_risk_per_trade__isnull", True),
                        ("max_risk_per_trade__gt", 0),
                        _connector="OR",
                    ),
                    models.Q(
                        ("max_daily_loss__isnull", True), ("max_daily_loss__gt", 0), _connector="OR"
                    ),
                    models.Q(
                        ("max_risk_pct_of_equity__isnull", True),
                        models.Q(
                            ("max_risk_pct_of_equity__gt", 0), ("max_risk_pct_of_equity__lte", 100)
                        ),
                        _connector="OR",
                    ),
                ),
                name="desk_riskconfig_optional_limits_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="tradeidea",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "waiting",
                            "needs_approval",
                            "auto_executed",
                            "approved",
                            "rejected",
                            "halted_by_risk",
                        ],
                    )
                ),
                name="desk_idea_status_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="accountsnapshot",
            index=models.Index(fields=["-captured_at"], name="desk_account_latest_idx"),
        ),
        migrations.AddIndex(
            model_name="marketbar",
            index=models.Index(fields=["symbol", "-captured_at"], name="desk_marketbar_latest_idx"),
        ),
        migrations.RunPython(forward, backward),
    ]
