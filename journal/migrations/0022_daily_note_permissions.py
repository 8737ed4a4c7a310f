"""Who writes daily notes: reviewers and risk managers (the traders' plans and reviews
of their days); operators read none. Notes are never deleted."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_dailynote", "add_dailynote", "change_dailynote"]
GRANTS = {"Reviewer": CODENAMES, "Risk manager": CODENAMES}


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
    dependencies = [("journal", "0021_daily_notes"), ("journal", "0003_groups")]

    operations = [migrations.RunPython(grant, revoke)]
