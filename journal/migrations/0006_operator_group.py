"""The Operator group: decides quarantined spool lines (fix and re-submit, or discard).

Operators run the back office: they see the trades (to check what a re-submitted line
became) and the quarantine worklist, and may decide its lines. Running it again
changes nothing; reversing it removes the group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR = "Operator"
CODENAMES = ["view_trade", "view_quarantinedline", "change_quarantinedline"]


def create_group(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("journal")
    app_config.models_module = True  # historical app configs have none; see create_permissions
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=using)
    finally:
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=OPERATOR)
    permissions = (
        apps.get_model("auth", "Permission")
        .objects.using(using)
        .filter(content_type__app_label="journal", codename__in=CODENAMES)
    )
    missing = set(CODENAMES) - {p.codename for p in permissions}
    if missing:
        raise RuntimeError(f"permissions missing for group {OPERATOR!r}: {sorted(missing)}")
    group.permissions.add(*permissions)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name=OPERATOR
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("journal", "0005_quarantined_line")]

    operations = [migrations.RunPython(create_group, remove_group)]
