"""scikit-learn models as skops files; pickles only on an operator's word (issue 15).

Adds the ``sklearn-skops`` framework and ``ModelVersion.pickle_trust``. From now on a
joblib (pickle) version is loaded only when its ``pickle_trust`` says who trusted it.
Marks ``legacy`` the joblib versions an operator registered before this migration (no
user: from the shell), so that they keep serving, with their hash checked at every load.
A joblib version uploaded through the admin is not marked: such an upload is how a
model manager ran code on the server (issue 15), so it stops loading until an operator
who has looked at it registers the file again with ``register_model --trust-pickle``
(or, better, as .skops or ONNX).
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


def mark_legacy_pickles(apps, schema_editor):
    ModelVersion = apps.get_model("models_registry", "ModelVersion")
    ModelVersion.objects.filter(framework="sklearn-joblib", created_by__isnull=True).update(
        pickle_trust="legacy"
    )


def unmark(apps, schema_editor):
    """Nothing to undo: the field goes away with the reversed AddField."""


class Migration(migrations.Migration):
    dependencies = [
        ("models_registry", "0003_onnx_framework"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="pickle_trust",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "not trusted"),
                    ("operator", "an operator registered it with --trust-pickle"),
                    ("legacy", "registered before pickles needed an operator (migration 0004)"),
                ],
                default="",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="modelversion",
            name="framework",
            field=models.CharField(
                choices=[
                    ("xgboost", "XGBoost (JSON / UBJ)"),
                    ("lightgbm", "LightGBM (text model)"),
                    ("sklearn-skops", "scikit-learn (skops: loads no code)"),
                    (
                        "sklearn-joblib",
                        "scikit-learn pickle (joblib: runs code; operators only)",
                    ),
                    ("onnx", "ONNX (ONNX Runtime: neural networks and more)"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(mark_legacy_pickles, unmark),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.CheckConstraint(
                condition=Q(pickle_trust="") | Q(framework="sklearn-joblib"),
                name="model_version_pickle_trust_on_pickles",
            ),
        ),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.CheckConstraint(
                condition=~Q(pickle_trust="operator") | Q(created_by__isnull=True),
                name="model_version_pickle_trusted_by_operator",
            ),
        ),
    ]
