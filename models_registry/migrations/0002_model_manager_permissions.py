"""The Model manager group gets the registry: models, versions, aliases and their moves."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODEL_MANAGER = "Model manager"
PERMISSIONS = [
    "view_registeredmodel",
    "add_registeredmodel",
    "change_registeredmodel",
    "view_modelversion",
    "add_modelversion",
    "change_modelversion",
    "view_modelalias",
    "add_modelalias",
    "change_modelalias",
    "view_aliasmove",
]


def grant(apps, schema_editor):
    # Permissions are made after migrate ends; make them now (the known stub trick).
    app_config = apps.get_app_config("models_registry")
    app_config.models_module = True
    try:
        create_permissions(app_config, verbosity=0, apps=apps)
    finally:
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
        ("models_registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
