"""The Risk manager group gets the desk records (the journal's migration gives it the
Reviewer's permissions); the decision history is view-only for everybody."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

RISK_MANAGER = "Risk manager"
PERMISSIONS = [
    "view_strategy",
    "add_strategy",
    "change_strategy",
    "view_riskconfig",
    "change_riskconfig",
    "view_riskconfigchange",
    "view_tradeidea",
    "change_tradeidea",
    "view_decision",
    "view_marketbar",
    "view_indicatorsnapshot",
    "view_calendarevent",
    "view_newsitem",
    "view_accountsnapshot",
    "view_legacysetting",
]


def grant(apps, schema_editor):
    # Permissions are made after migrate ends; make them now (the known stub trick).
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
        ("desk", "0002_history_and_policies"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
