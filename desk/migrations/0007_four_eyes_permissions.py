"""The Risk manager group sees the limit changes waiting for a second person; confirming
one takes the permission that changes the limits (change_riskconfig), which it has."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RISK_MANAGER = "Risk manager"
PERMISSIONS = ["view_limitchangerequest"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("desk")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=RISK_MANAGER)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="desk", codename__in=PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=RISK_MANAGER).first()
    if group:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="desk", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0006_four_eyes_and_overrides"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
