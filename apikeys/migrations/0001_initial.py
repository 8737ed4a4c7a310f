"""API keys moved here from the project package (issue 28: an app of their own). The
table keeps its name (backoffice_apikey): only Django's idea of which app the model
belongs to moves, and its content type with it, so the permissions granted on it
(groups, users) follow unchanged."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    using = schema_editor.connection.alias
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(using)
    old = content_types.filter(app_label="backoffice", model="apikey").first()
    if old is None:
        return
    new = content_types.filter(app_label="apikeys", model="apikey").first()
    if new is None:
        old.app_label = "apikeys"
        old.save(update_fields=["app_label"])
        return
    # Both exist (post_migrate made the new one before this ran): the old one's
    # permissions join it, a permission of the same name keeping every holder of both.
    permissions = apps.get_model("auth", "Permission").objects.using(using)
    for permission in permissions.filter(content_type=old):
        twin = permissions.filter(content_type=new, codename=permission.codename).first()
        if twin is None:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
            continue
        for group in permission.group_set.all():
            group.permissions.add(twin)
        for user in permission.user_set.all():
            user.user_permissions.add(twin)
        permission.delete()
    old.delete()


def move_back(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias
    )
    content_types.filter(app_label="apikeys", model="apikey").update(app_label="backoffice")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("backoffice", "0002_metrics_permission"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("prefix", models.CharField(editable=False, max_length=16, unique=True)),
                        ("key_hash", models.CharField(editable=False, max_length=64)),
                        ("scopes", models.JSONField(default=list)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API key",
                        "ordering": ["name"],
                        "db_table": "backoffice_apikey",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_back),
    ]
