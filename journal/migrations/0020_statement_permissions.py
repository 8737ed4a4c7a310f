"""Who works with broker statements: operators upload them and read their dry runs
(importing stores trades, which needs journal.add_trade: given to a trusted person, not
to the group); risk managers read them, to add the instruments they name."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Operator": ["view_statementimport", "add_statementimport", "change_statementimport"],
    "Risk manager": ["view_statementimport"],
}


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("journal")
    app_config.models_module = True  # historical app configs have none; see create_permissions
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=using)
    finally:
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=name)
        permissions = permission_model.objects.using(using).filter(
            content_type__app_label="journal", codename__in=codenames
        )
        missing = set(codenames) - {p.codename for p in permissions}
        if missing:
            raise RuntimeError(f"permissions missing for group {name!r}: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = apps.get_model("auth", "Group").objects.filter(name=name).first()
        if group:
            group.permissions.remove(
                *permission_model.objects.filter(
                    content_type__app_label="journal", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0019_statement_imports"),
        ("journal", "0009_instrument_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
