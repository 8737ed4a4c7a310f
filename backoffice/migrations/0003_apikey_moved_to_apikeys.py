"""The ApiKey model now belongs to the apikeys app (its 0001 took over the table and the
content type). The project's own permission, backoffice.view_metrics, stays the
project's: it moves to a model without a table (OperatorMetrics), so the Operator
group keeps it under the same name."""

from django.db import migrations, models


def keep_the_metrics_permission(apps, schema_editor):
    using = schema_editor.connection.alias
    content_type, _ = (
        apps.get_model("contenttypes", "ContentType")
        .objects.using(using)
        .get_or_create(app_label="backoffice", model="operatormetrics")
    )
    found = list(
        apps.get_model("auth", "Permission")
        .objects.using(using)
        .filter(codename="view_metrics", content_type__app_label__in=["apikeys", "backoffice"])
    )
    # One permission by that name stays (a migration run backwards and forwards may
    # have made a second one): it keeps every group and user that held either.
    keep = next((p for p in found if p.content_type_id == content_type.pk), None)
    if keep is None and found:
        keep = found[0]
        keep.content_type = content_type
        keep.save(update_fields=["content_type"])
    for other in found:
        if other.pk == keep.pk:
            continue
        for group in other.group_set.all():
            group.permissions.add(keep)
        for user in other.user_set.all():
            user.user_permissions.add(keep)
        other.delete()


def give_it_back(apps, schema_editor):
    using = schema_editor.connection.alias
    content_type = (
        apps.get_model("contenttypes", "ContentType")
        .objects.using(using)
        .filter(app_label="apikeys", model="apikey")
        .first()
    )
    if content_type is not None:
        apps.get_model("auth", "Permission").objects.using(using).filter(
            codename="view_metrics", content_type__app_label="backoffice"
        ).update(content_type=content_type)


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_metrics_permission"),
        ("apikeys", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiKey")], database_operations=[]
        ),
        migrations.CreateModel(
            name="OperatorMetrics",
            fields=[
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                )
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [("view_metrics", "Can read the operators' metrics (GET /metrics)")],
            },
        ),
        migrations.RunPython(keep_the_metrics_permission, give_it_back),
    ]
