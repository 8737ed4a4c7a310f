"""The staff groups, with least privilege: Reviewer, Risk manager, Model manager.

- Reviewer: sees trades and the review history, edits reviews (through the trade page,
  which saves with journal.reviews.trade_review). Nobody may change or delete a trade.
- Risk manager: what a Reviewer has; the desk app's own migration adds trade ideas and
  the risk config to this group.
- Model manager: created empty here; the registry app's own migration adds its
  permissions (this migration does not depend on another app's migrations).

Permissions are normally created after `migrate` (post_migrate); a data migration that
assigns them creates them first. Running it again changes nothing; reversing it
removes the three groups.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWER = [
    "view_trade",
    "view_tradereview",
    "change_tradereview",
    "view_reviewchange",
]
GROUPS = {
    "Reviewer": REVIEWER,
    "Risk manager": REVIEWER,
    "Model manager": [],
}


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("journal")
    app_config.models_module = True  # historical app configs have none; see create_permissions
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=using)
    finally:
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = group_model.objects.using(using).get_or_create(name=name)
        permissions = permission_model.objects.using(using).filter(
            content_type__app_label="journal", codename__in=codenames
        )
        missing = set(codenames) - {p.codename for p in permissions}
        if missing:
            raise RuntimeError(f"permissions missing for group {name!r}: {sorted(missing)}")
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.using(schema_editor.connection.alias).filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("journal", "0002_timescale"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
