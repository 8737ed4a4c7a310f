"""The permission to read GET /metrics, given to the Operator group.

Before it, any staff account, even one in no group, read the operators' figures (issue
26). Operators run the back office, so they read them; superusers hold every permission;
Prometheus itself uses the scrape token. The group is made by name if it does not exist
yet (journal/0006 makes it with its journal permissions; either may run first). Running
it again changes nothing; reversing it takes the permission from the group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR = "Operator"
CODENAME = "view_metrics"


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("backoffice")
    app_config.models_module = True  # historical app configs have none; see create_permissions
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=using)
    finally:
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=OPERATOR)
    permission = (
        apps.get_model("auth", "Permission")
        .objects.using(using)
        .get(content_type__app_label="backoffice", content_type__model="apikey", codename=CODENAME)
    )
    group.permissions.add(permission)


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name=OPERATOR).first()
    if group is not None:
        group.permissions.remove(
            *apps.get_model("auth", "Permission")
            .objects.using(using)
            .filter(content_type__app_label="backoffice", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apikey",
            options={
                "ordering": ["name"],
                "permissions": [("view_metrics", "Can read the operators' metrics (GET /metrics)")],
                "verbose_name": "API key",
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
