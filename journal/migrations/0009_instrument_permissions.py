"""Risk managers keep the instruments (what is traded, how a move is valued); reviewers
and operators see them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Risk manager": ["view_instrument", "add_instrument", "change_instrument"],
    "Reviewer": ["view_instrument"],
    "Operator": ["view_instrument"],
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
        group.permissions.add(
            *permission_model.objects.using(using).filter(
                content_type__app_label="journal", codename__in=codenames
            )
        )


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
    dependencies = [("journal", "0008_instruments"), ("journal", "0006_operator_group")]

    operations = [migrations.RunPython(grant, revoke)]
