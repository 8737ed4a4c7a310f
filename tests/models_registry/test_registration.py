"""Registration: framework, schema, content-addressed storage, numbering, aliases."""

import hashlib

import pytest

from models_registry.artifacts import loaders, storage
from models_registry.errors import DuplicateVersion, RegistryError
from models_registry.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from models_registry.services import alias_move, model_register, predictor_load
from tests.models_registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def register(trained, **kwargs):
    kwargs.setdefault("name", "edge")
    return model_register(data=trained.data, filename=trained.filename, **kwargs)


def test_it_reads_the_schema_from_an_xgboost_model_and_stores_it_by_hash(artifact_store):
    trained = factories.xgboost_model()
    version = register(trained)
    assert (version.model.name, version.version, version.framework) == ("edge", 1, "xgboost")
    assert version.feature_names == factories.FEATURES
    assert all(f["type"] == "float" for f in version.feature_schema)
    assert version.output_kind == "probability"
    sha = hashlib.sha256(trained.data).hexdigest()
    assert (version.sha256, version.size) == (sha, len(trained.data))
    assert version.artifact_path == f"artifacts/{sha[:2]}/{sha}.json"
    assert (artifact_store / version.artifact_path).read_bytes() == trained.data


def test_it_reads_the_schema_from_a_lightgbm_model():
    version = register(factories.lightgbm_model())
    assert version.framework == "lightgbm"
    assert version.feature_names == factories.FEATURES
    assert version.artifact_path.endswith(".txt")


def test_it_accepts_xgboost_ubj_and_knows_a_regressor_gives_values():
    version = register(factories.xgboost_ubj_model())
    assert version.framework == "xgboost"
    assert version.output_kind == "value"
    assert version.artifact_path.endswith(".ubj")


def test_a_model_without_feature_names_needs_them_given():
    trained = factories.lightgbm_model(named=False)
    with pytest.raises(RegistryError, match=r"no feature names.*5 feature names") as caught:
        register(trained)
    assert caught.value.field == "features"
    assert not ModelVersion.objects.exists()
    version = register(trained, features="a,b,c:int,d,e")
    assert version.feature_names == ["a", "b", "c", "d", "e"]
    assert version.feature_schema[2] == {"name": "c", "type": "int"}


def test_the_wrong_number_of_given_features_is_refused():
    with pytest.raises(RegistryError, match="3 feature names given; the model takes 5"):
        register(factories.xgboost_model(named=False), features="a,b,c")


def test_given_features_must_agree_with_the_names_in_the_model():
    with pytest.raises(RegistryError, match="differ from the names stored in the model"):
        register(factories.xgboost_model(), features="a,b,c,d,e")


def test_a_skops_pipeline_is_registered_with_its_features_and_predicts():
    trained = factories.sklearn_pipeline()
    version = register(trained, features=",".join(factories.FEATURES))
    assert (version.framework, version.output_kind) == ("sklearn-skops", "probability")
    assert version.artifact_path.endswith(".skops")
    assert version.pickle_trust == "" and not version.pickle_trusted
    predictor = predictor_load(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=False,
    )
    assert predictor.predict(trained.probe) == pytest.approx(trained.expected, abs=1e-9)


def test_a_skops_pipeline_from_a_model_manager_is_accepted(staff):
    version = register(factories.sklearn_pipeline(), features="a,b,c,d,e", created_by=staff)
    assert version.created_by == staff


def test_an_operators_trusted_pickle_is_registered_marked_and_loaded():
    trained = factories.sklearn_pipeline_joblib()
    version = register(trained, features=",".join(factories.FEATURES), trust_pickle=True)
    assert (version.framework, version.created_by) == ("sklearn-joblib", None)
    assert version.pickle_trust == "operator" and version.pickle_trusted
    predictor = predictor_load(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=version.pickle_trusted,
    )
    assert predictor.predict(trained.probe) == pytest.approx(trained.expected, abs=1e-9)


def test_a_pickle_from_an_operator_who_does_not_trust_it_is_refused():
    with pytest.raises(
        RegistryError, match=r"not accepted here.*\.skops.*--trust-pickle"
    ) as caught:
        register(factories.sklearn_pipeline_joblib(), features="a,b,c,d,e")
    assert caught.value.field == "file"
    assert not ModelVersion.objects.exists()


def test_a_pickle_from_staff_is_refused_even_with_trust_and_every_permission(staff):
    for trust in (False, True):
        with pytest.raises(RegistryError, match="register_model --trust-pickle") as caught:
            register(
                factories.sklearn_pipeline_joblib(),
                features="a,b,c,d,e",
                created_by=staff,
                trust_pickle=trust,
            )
        assert caught.value.field == "file"
    assert not ModelVersion.objects.exists()


def test_a_damaged_pickle_an_operator_trusts_is_refused_as_such():
    with pytest.raises(RegistryError, match="not a joblib file"):
        model_register(name="edge", data=b"\x80\x04garbage", filename="m.joblib", trust_pickle=True)


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"\x00\x01garbage", "model.json", "not an XGBoost model"),
        (b"tree\nnot really", "model.txt", "not a LightGBM text model"),
        (b"PK\x03\x04garbage", "model.skops", "not a skops file"),
        (b"", "model.json", "the model file is empty"),
        (b"hello", "model.bin", "cannot tell the framework"),
    ],
)
def test_a_file_that_does_not_load_is_refused_and_leaves_no_row(data, filename, message):
    with pytest.raises(RegistryError, match=message):
        model_register(name="edge", data=data, filename=filename, features="a")
    assert not RegisteredModel.objects.exists()


def test_an_explicit_framework_that_does_not_fit_is_refused():
    trained = factories.lightgbm_model()
    with pytest.raises(RegistryError, match="not an XGBoost model"):
        model_register(name="edge", data=trained.data, filename="m.bin", framework="xgboost")


@pytest.mark.parametrize("name", ["", "has space", "x/y", "../up", "a" * 101])
def test_a_model_name_must_be_a_slug(name):
    with pytest.raises(RegistryError, match="must be a slug") as caught:
        register(factories.xgboost_model(), name=name)
    assert caught.value.field == "name"


def test_versions_are_numbered_per_model_and_the_same_bytes_share_one_file(artifact_store):
    trained = factories.xgboost_model()
    first, second = register(trained), register(factories.xgboost_model(seed=1))
    other = register(trained, name="other")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.artifact_path == other.artifact_path != second.artifact_path
    stored = [p for p in (artifact_store / "artifacts").rglob("*") if p.is_file()]
    assert len(stored) == 2, "no temporary file is left behind"


def test_the_same_file_twice_for_one_model_is_refused_and_names_the_version():
    trained = factories.xgboost_model()
    first = register(trained)
    with pytest.raises(
        DuplicateVersion, match=r"already has this exact file as version 1"
    ) as caught:
        register(trained, alias="production", metrics={"auc": 0.9})
    assert (caught.value.field, caught.value.existing) == ("file", first)
    assert list(ModelVersion.objects.values_list("version", flat=True)) == [1]
    assert not ModelAlias.objects.exists(), "nothing of the refused registration stays"


def test_registering_with_an_alias_moves_it_and_records_the_move():
    trained = factories.xgboost_model()
    v1 = register(trained, alias="production")
    v2 = register(factories.xgboost_model(seed=1), alias="production")
    alias = ModelAlias.objects.get(model=v1.model, name="production")
    assert alias.version == v2
    moves = list(AliasMove.objects.order_by("id"))
    assert [(m.from_version, m.to_version) for m in moves] == [(None, v1), (v1, v2)]


def test_an_alias_move_records_who_when_and_from_where(staff):
    v1 = register(factories.xgboost_model(), alias="production")
    v2 = register(factories.xgboost_model(seed=1))
    move = alias_move(model=v1.model, alias="production", version=v2, moved_by=staff, reason="AUC")
    assert (move.from_version, move.to_version, move.moved_by, move.reason) == (
        v1,
        v2,
        staff,
        "AUC",
    )
    assert move.moved_at is not None
    assert alias_move(model=v1.model, alias="production", version=v2) is None, "no-op move"
    assert AliasMove.objects.count() == 2


def test_an_alias_cannot_point_at_another_models_version():
    mine = register(factories.xgboost_model())
    theirs = register(factories.xgboost_model(), name="theirs")
    with pytest.raises(RegistryError, match="belongs to another model") as caught:
        alias_move(model=mine.model, alias="production", version=theirs)
    assert caught.value.field == "version"


def test_loading_checks_the_hash_and_size_every_time(artifact_store):
    version = register(factories.xgboost_model())
    fields = dict(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=False,
    )
    predictor = predictor_load(**fields)
    probe = factories.xgboost_model().probe
    assert predictor.predict(probe) == pytest.approx(factories.xgboost_model().expected, abs=1e-6)
    path = artifact_store / version.artifact_path
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01  # one flipped bit, same size
    path.write_bytes(bytes(data))
    with pytest.raises(storage.ArtifactError, match="fails its SHA-256 check"):
        predictor_load(**fields)
    path.write_bytes(bytes(data) + b" ")
    with pytest.raises(storage.ArtifactError, match="changed after registration"):
        predictor_load(**fields)
    path.unlink()
    with pytest.raises(storage.ArtifactError, match="missing"):
        predictor_load(**fields)


@pytest.mark.parametrize("path", ["../outside.json", "/etc/passwd", "artifacts/../../x.json"])
def test_an_artifact_path_outside_the_root_is_refused(path):
    with pytest.raises(storage.ArtifactError, match="outside the artifact root"):
        predictor_load(
            framework="sklearn-joblib",
            artifact_path=path,
            sha256="0" * 64,
            size=1,
            pickle_trusted=True,
        )


def test_a_symlink_out_of_the_root_is_refused(artifact_store, tmp_path):
    target = tmp_path / "evil.joblib"
    target.write_bytes(b"x")
    link = artifact_store / "artifacts" / "ab"
    link.mkdir(parents=True)
    (link / "evil.joblib").symlink_to(target)
    with pytest.raises(storage.ArtifactError, match="outside the artifact root"):
        storage.resolve("artifacts/ab/evil.joblib")


def test_a_pickle_without_an_operators_trust_is_never_loaded_even_with_its_hash_right():
    version = register(factories.sklearn_pipeline_joblib(), features="a,b,c,d,e", trust_pickle=True)
    with pytest.raises(loaders.UntrustedPickle, match="no operator trusted this one"):
        predictor_load(
            framework=version.framework,
            artifact_path=version.artifact_path,
            sha256=version.sha256,
            size=version.size,
            pickle_trusted=False,
        )
    with pytest.raises(loaders.UntrustedPickle):
        loaders.load("sklearn-joblib", factories.sklearn_pipeline_joblib().data)


@pytest.mark.parametrize(
    "metrics, message",
    [
        ({"auc": float("nan")}, "metrics hold nan"),
        ({"loss": [1.0, float("inf")]}, "metrics hold inf"),
        ({"note": "a\x00b"}, "NUL"),
        ({"\ud800": 1}, "lone surrogate"),
        ([0.7], "must be a JSON object"),
    ],
)
def test_metrics_postgresql_cannot_store_are_refused_naming_metrics(metrics, message):
    with pytest.raises(RegistryError, match=message) as caught:
        register(factories.xgboost_model(), metrics=metrics)
    assert caught.value.field == "metrics"
    assert not ModelVersion.objects.exists()
