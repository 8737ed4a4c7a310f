"""The flags of capture's checks against the instrument (journal.write.checks), kept
beside the trades in a plain table of their own: the hypertable is not altered (a trade
is a record; its flags are derived data), so this runs alike on SQLite, PostgreSQL and
TimescaleDB. The trades stored so far are checked once, here."""

from django.db import migrations, models

from journal.write import checks


def check_stored_trades(apps, schema_editor):
    checks.backfill(
        schema_editor.connection,
        apps.get_model("journal", "Trade"),
        apps.get_model("journal", "Instrument"),
        apps.get_model("journal", "TradeCheck"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0014_trade_chunks_of_a_week"),
    ]

    operations = [
        migrations.CreateModel(
            name="TradeCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("trade_id", models.CharField(max_length=64)),
                ("executed_at", models.DateTimeField()),
                ("entry_price_off_tick", models.BooleanField(default=False)),
                ("exit_price_off_tick", models.BooleanField(default=False)),
                ("stop_loss_off_tick", models.BooleanField(default=False)),
                ("quantity_off_step", models.BooleanField(default=False)),
                ("pnl_mismatch", models.BooleanField(default=False)),
                ("checked_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("trade_id", "executed_at"), name="journal_tradecheck_key"
                    )
                ],
            },
        ),
        migrations.RunPython(check_stored_trades, migrations.RunPython.noop),
    ]
