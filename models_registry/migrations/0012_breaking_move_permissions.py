"""The Model manager group sees the breaking moves waiting for a second person;
confirming one takes the permission that moves aliases (change_modelalias), which it has."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODEL_MANAGER = "Model manager"
PERMISSIONS = ["view_breakingmoverequest"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("models_registry")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODEL_MANAGER)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="models_registry", codename__in=PERMISSIONS
        )
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=MODEL_MANAGER).first()
    if group:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="models_registry", codename__in=PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0011_breaking_move_requests"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
