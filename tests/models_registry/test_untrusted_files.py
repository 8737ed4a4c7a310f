"""Model files that would run code when loaded are refused before anything of them runs.

Each hostile file here is real: a control shows that loading it the unsafe way does
create its marker file. Then the registry is asked to take it, by staff and by an
operator, under every file name, and the marker must never appear.
"""

import io

import joblib
import pytest
import skops.io
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from models_registry.errors import RegistryError
from models_registry.models import ModelVersion
from models_registry.services import model_register
from tests.models_registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

FILENAMES = [
    "evil.joblib",
    "evil.pkl",
    "evil.pickle",
    "evil.skops",
    "evil.json",
    "evil.ubj",
    "evil.txt",
    "evil.onnx",
]


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "code-ran"


def test_control_the_crafted_pickle_runs_code_when_unpickled(marker):
    joblib.load(io.BytesIO(factories.malicious_pickle(marker)))
    assert marker.exists(), "the payload must be real for the tests below to mean anything"


@pytest.mark.parametrize("filename", FILENAMES)
def test_a_crafted_pickle_is_refused_unrun_from_staff_under_any_name(staff, marker, filename):
    data = factories.malicious_pickle(marker)
    with pytest.raises(RegistryError):
        model_register(
            name="edge", data=data, filename=filename, alias="production", created_by=staff
        )
    assert not marker.exists()
    assert not ModelVersion.objects.exists()


def test_a_crafted_pickle_is_refused_from_staff_even_with_the_trust_flag(staff, marker):
    with pytest.raises(RegistryError, match="not accepted here") as caught:
        model_register(
            name="edge",
            data=factories.malicious_pickle(marker),
            filename="evil.joblib",
            created_by=staff,
            trust_pickle=True,
        )
    assert caught.value.field == "file"
    assert not marker.exists()


def test_an_operator_without_the_trust_flag_does_not_run_a_pickle(marker):
    with pytest.raises(RegistryError, match="--trust-pickle"):
        model_register(name="edge", data=factories.malicious_pickle(marker), filename="evil.pkl")
    with pytest.raises(RegistryError, match="--trust-pickle"):
        model_register(
            name="edge",
            data=factories.malicious_pickle(marker),
            filename="evil.bin",
            framework="sklearn-joblib",
        )
    assert not marker.exists()


def test_control_the_crafted_skops_files_run_code_if_their_types_are_trusted(marker, tmp_path):
    skops.io.loads(factories.malicious_skops_exec(marker), trusted=["builtins.exec"])
    assert marker.exists()
    other = tmp_path / "tripwire-ran"
    skops.io.loads(
        factories.malicious_skops_object(other),
        trusted=["tests.models_registry.factories.Tripwire"],
    )
    assert other.exists()


@pytest.mark.parametrize(
    "build, untrusted",
    [
        (factories.malicious_skops_exec, "builtins.exec"),
        (factories.malicious_skops_object, "tests.models_registry.factories.Tripwire"),
    ],
)
def test_a_skops_file_naming_an_untrusted_type_is_refused_by_name_unrun(
    staff, marker, build, untrusted
):
    with pytest.raises(RegistryError, match="types this server does not trust") as caught:
        model_register(name="edge", data=build(marker), filename="model.skops", created_by=staff)
    assert untrusted in str(caught.value)
    assert "ONNX" in str(caught.value)
    assert caught.value.field == "file"
    assert not marker.exists()
    assert not ModelVersion.objects.exists()


def test_a_pipeline_calling_a_shell_function_is_refused_by_name():
    import os

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipeline = make_pipeline(FunctionTransformer(os.system))
    with pytest.raises(RegistryError, match=r"does not trust: posix\.system"):
        model_register(name="edge", data=skops.io.dumps(pipeline), filename="p.skops")


def test_the_trusted_types_cover_the_usual_scikit_learn_models():
    """Tree ensembles, boosting, calibrated and linear models with imputers load as is."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x, y = factories.training_set(rows=300)
    models = {
        "forest": RandomForestClassifier(n_estimators=5, random_state=0),
        "boosting": GradientBoostingClassifier(n_estimators=5, random_state=0),
        "calibrated": CalibratedClassifierCV(LogisticRegression(), cv=3),
        "imputed": make_pipeline(SimpleImputer(), LogisticRegression()),
    }
    for name, model in models.items():
        model.fit(x, y)
        version = model_register(
            name=name,
            data=skops.io.dumps(model),
            filename=f"{name}.skops",
            features=",".join(factories.FEATURES),
        )
        assert version.framework == "sklearn-skops", name


@pytest.mark.django_db(transaction=True)
def test_migration_0004_keeps_only_an_operators_pickles_loading(django_user_model):
    executor = MigrationExecutor(connection)
    before, after = [("models_registry", "0003_onnx_framework")], executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        apps = MigrationExecutor(connection).loader.project_state(before).apps
        user = apps.get_model("auth", "User")
        model = apps.get_model("models_registry", "RegisteredModel").objects.create(name="old")
        staff = user.objects.create(username="legacy-staff", is_staff=True)
        clerk = user.objects.create(username="legacy-clerk", is_staff=False)
        rows = {
            "operator": ("sklearn-joblib", None),
            "staff": ("sklearn-joblib", staff),
            "clerk": ("sklearn-joblib", clerk),
            "trees": ("xgboost", staff),
        }
        version = apps.get_model("models_registry", "ModelVersion")
        for number, (framework, creator) in enumerate(rows.values(), start=1):
            version.objects.create(
                model=model,
                version=number,
                framework=framework,
                artifact_path=f"artifacts/00/{number}.bin",
                sha256=f"{number:064d}",
                size=1,
                output_kind="value",
                created_by=creator,
            )
        MigrationExecutor(connection).migrate(after)
        marks = dict(
            ModelVersion.objects.filter(model__name="old").values_list("version", "pickle_trust")
        )
        # Only an operator's pickle keeps loading: a staff upload is how code ran.
        assert marks == {1: "legacy", 2: "", 3: "", 4: ""}
        assert [
            v.version
            for v in ModelVersion.objects.filter(model__name="old").order_by("version")
            if v.pickle_trusted
        ] == [1]
    finally:
        MigrationExecutor(connection).migrate(after)
