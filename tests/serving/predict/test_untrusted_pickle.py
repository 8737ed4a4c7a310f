"""A joblib version without an operator's trust is never unpickled: not at warm-up, not
on a prediction. That model answers 503; the others keep serving."""

import io

import joblib
import pytest

from models_registry.artifacts import storage
from serving.predict.runtime import current
from tests.models_registry import factories
from tests.serving.conftest import instances, predict
from tests.serving.predict.untrusted import force_pickle_version

pytestmark = pytest.mark.django_db


def test_an_untrusted_pickle_is_never_loaded_and_only_its_model_is_503(bot, xgb, tmp_path):
    marker = tmp_path / "code-ran"
    evil = force_pickle_version(data=factories.malicious_pickle(marker), name="edge-evil")

    report = {row["model"]: row for row in current().warm()}
    assert report["edge-xgb"]["loaded"] is True
    assert report["edge-evil"]["loaded"] is False
    assert "no operator trusted this one" in report["edge-evil"]["error"]

    for _ in range(2):  # again past the remembered failure: still never loaded
        refused = predict(bot, "edge-evil", {"inputs": [[1.0]]})
        assert refused.status_code == 503
        assert refused.json()["code"] == "model_unavailable"
        assert "edge-evil@1 cannot be served" in refused.json()["detail"]
    trained, _ = xgb
    served = predict(bot, "edge-xgb", {"instances": instances(trained)})
    assert served.status_code == 200
    assert not marker.exists(), "the pickle's code ran in the server"

    # Control: the stored artifact is the live payload; unpickling it runs the code.
    data = storage.read_verified(evil.artifact_path, sha256=evil.sha256, size=evil.size)
    joblib.load(io.BytesIO(data))
    assert marker.exists()
