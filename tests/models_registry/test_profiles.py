"""A version's feature profile and the population stability index against it, on cases
worked by hand; the profile kept at training and registration, or given later."""

import io
import math

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from models_registry.domain.profiles import (
    EMPTY_SHARE,
    ProfileError,
    feature_profile,
    feature_psi,
    psi,
    read_reference_csv,
)
from models_registry.errors import RegistryError
from models_registry.models import ModelVersion
from models_registry.services import model_register
from models_registry.training import model_train
from tests.models_registry import factories

# The reference: 1, 2, ..., 100. Its deciles (numpy's linear interpolation: position
# 99 q) are 10.9, 20.8, ..., 90.1, and each of the ten bins holds exactly 10 values.
ONE_TO_HUNDRED = np.arange(1, 101, dtype=np.float64)


@pytest.mark.smoke
def test_the_profile_of_one_to_a_hundred_is_ten_equal_deciles():
    profile = feature_profile(ONE_TO_HUNDRED.reshape(-1, 1), ["x"], source="hand")
    x = profile["features"]["x"]
    assert x["cuts"] == pytest.approx([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1])
    assert x["shares"] == [0.1] * 10 and x["missing"] == 0
    assert (profile["rows"], profile["source"]) == (100, "hand")


@pytest.mark.smoke
def test_psi_is_the_hand_computed_value():
    # Live: 15 values in each of the first five bins (5, 15, ..., 45), 5 in each of the
    # last five (55, ..., 95): shares 0.15 and 0.05 against 0.10.
    # PSI = 5 x (0.05 ln 1.5) + 5 x (-0.05 ln 0.5) = 0.101366 + 0.173287 = 0.274653
    live = np.repeat([5.0, 15, 25, 35, 45, 55, 65, 75, 85, 95], [15] * 5 + [5] * 5)
    profile = feature_profile(ONE_TO_HUNDRED.reshape(-1, 1), ["x"], source="hand")
    assert feature_psi(profile["features"]["x"], live) == pytest.approx(0.274653, abs=1e-6)
    assert feature_psi(profile["features"]["x"], ONE_TO_HUNDRED) == pytest.approx(0.0)
    # Everything in the first and last bins; the eight empty ones count as 1e-4:
    # 2 x 0.4 ln 5 + 8 x (1e-4 - 0.1) ln(1e-4 / 0.1) = 1.287550 + 5.520678 = 6.808228
    split = np.array([5.0] * 25 + [95.0] * 25)
    expected = 2 * 0.4 * math.log(5) + 8 * (EMPTY_SHARE - 0.1) * math.log(EMPTY_SHARE / 0.1)
    assert expected == pytest.approx(6.808228, abs=1e-6)
    assert feature_psi(profile["features"]["x"], split) == pytest.approx(expected)
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0


@pytest.mark.smoke
def test_repeated_values_and_missing_ones_keep_their_true_shares():
    hours = np.array([9.0] * 60 + [10.0] * 30 + [np.nan] * 10)
    profile = feature_profile(hours.reshape(-1, 1), ["hour"], source="hand")["features"]["hour"]
    assert profile["cuts"] == [9.0, 10.0]
    assert profile["shares"] == [0.6, 0.3, 0.0] and profile["missing"] == 0.1
    # Live: all at 10 o'clock, none missing: PSI over (9, 10, above, missing) =
    # (1e-4 - 0.6) ln(1e-4/0.6) + (1 - 0.3) ln(1/0.3) + 0 + (1e-4 - 0.1) ln(1e-4/0.1)
    live = np.array([10.0] * 40)
    by_hand = (
        (EMPTY_SHARE - 0.6) * math.log(EMPTY_SHARE / 0.6)
        + 0.7 * math.log(1 / 0.3)
        + (EMPTY_SHARE - 0.1) * math.log(EMPTY_SHARE / 0.1)
    )
    assert feature_psi(profile, live) == pytest.approx(by_hand)
    with pytest.raises(ProfileError, match="at least 20"):
        feature_profile(np.ones((5, 1)), ["x"], source="hand")


@pytest.mark.django_db
def test_training_keeps_the_profile_of_the_rows_it_learnt_from():
    versions = model_train(name="prof", source="synthetic", rows=800, rounds=5)
    for version in versions:
        profile = ModelVersion.objects.get(pk=version.pk).feature_profile
        assert profile["source"] == "training (synthetic)"
        assert profile["rows"] == 600  # the 75 % it was trained on
        assert set(profile["features"]) == set(version.feature_names)
        hour = profile["features"]["hour_of_day"]
        assert sum(hour["shares"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.django_db
def test_an_upload_without_training_data_has_no_profile_until_a_reference_is_given(tmp_path):
    trained = factories.xgboost_model()
    version = model_register(name="upl", data=trained.data, filename=trained.filename)
    assert version.feature_profile == {}
    reference = tmp_path / "reference.csv"
    rows = factories.training_set(rows=200)[0]
    # Columns in another order, and one the model does not take.
    order = [4, 0, 3, 1, 2]
    header = ",".join([factories.FEATURES[i] for i in order] + ["note"])
    lines = [",".join([repr(float(row[i])) for i in order] + ["x"]) for row in rows]
    reference.write_text("\n".join([header, *lines]) + "\n")
    out = io.StringIO()
    call_command("profile_model", "upl", "1", "--reference", str(reference), stdout=out)
    assert "200 reference rows" in out.getvalue()
    profile = ModelVersion.objects.get(pk=version.pk).feature_profile
    expected = feature_profile(rows, factories.FEATURES, source="x")["features"]
    assert profile["features"] == expected and profile["source"].startswith("reference ")
    assert np.allclose(read_reference_csv(reference, factories.FEATURES), rows)


@pytest.mark.django_db
def test_a_bad_reference_is_refused_naming_what_is_wrong(tmp_path):
    trained = factories.lightgbm_model()
    bad = tmp_path / "bad.csv"
    bad.write_text("rsi_14,macd_hist\n1,2\n")
    with pytest.raises(RegistryError, match="no column atr_pct"):
        model_register(name="upl2", data=trained.data, filename=trained.filename, reference=bad)
    assert not ModelVersion.objects.filter(model__name="upl2").exists()
    model_register(name="upl2", data=trained.data, filename=trained.filename)
    words = tmp_path / "words.csv"
    words.write_text(",".join(factories.FEATURES) + "\n" + "a,b,c,d,e\n")
    with pytest.raises(CommandError, match="line 2: not a row of numbers"):
        call_command("profile_model", "upl2", "1", "--reference", str(words))
    with pytest.raises(CommandError, match="no version 9"):
        call_command("profile_model", "upl2", "9", "--reference", str(words))
