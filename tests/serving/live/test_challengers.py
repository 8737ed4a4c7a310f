"""Champion and challenger on real models and real PostgreSQL: a shadow never changes an
answer and its scores are recorded beside it; a canary answers its share of keys, the
same side for the same key; the routing key's hostile values are a 400.

The writer and the shadow thread are off in-process (tests/conftest.py): each test
scores the queued shadows with ``current().shadows.drain()`` and writes the records with
``current().recorder.flush()``, as the threads would.
"""

import re
import uuid

import numpy as np
import pytest

from models_registry.challengers import challenger_clear, challenger_set
from models_registry.models import ModelVersion
from models_registry.services import alias_move
from serving.live.challenger_routing import bucket
from serving.models import PredictionRecord
from serving.predict.runtime import current
from tests.models_registry import factories
from tests.serving.conftest import instances, predict, register

pytestmark = pytest.mark.django_db

IDS = re.compile(rb"[0-9a-f]{32}")


def written() -> int:
    current().shadows.drain()
    return current().recorder.flush()


@pytest.fixture
def pair(xgb):
    """edge-xgb: production version 1, and version 2 trained with another seed."""
    trained, champion = xgb
    other = factories.xgboost_model(seed=1)
    challenger = register(other, "edge-xgb")
    return trained, other, champion, challenger


def answer_bytes(response) -> bytes:
    """The answer with its (random) record ids blanked: the rest must be identical."""
    assert response.status_code == 200, response.content
    return IDS.sub(b"<id>", response.content)


def test_a_shadow_never_changes_the_answer_and_its_scores_are_recorded_beside_it(bot, pair):
    trained, other, champion, challenger = pair
    body = {"instances": instances(trained)}
    first = predict(bot, "edge-xgb", body)
    without = predict(bot, "edge-xgb", body)  # from the cache, as the next ones
    assert (first.json()["cached"], without.json()["cached"]) == (False, True)
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
        reason="try v2",
    )
    current().resolver.forget()
    with_shadow = predict(bot, "edge-xgb", body)
    with_key = bot.post(
        "/api/v1/models/edge-xgb/predict", body, format="json", HTTP_X_ROUTING_KEY="acct-7"
    )
    for response in (with_shadow, with_key):
        assert answer_bytes(response) == answer_bytes(without)
        assert sorted(response.headers) == sorted(without.headers)
    assert "served_by" not in with_shadow.json()
    assert with_shadow.json()["predictions"] == pytest.approx(trained.expected, abs=1e-6)
    # Nothing was scored in shadow on the request path: the queue holds both requests.
    assert current().shadows.stats()["queued"] == 2
    assert PredictionRecord.objects.count() == 0
    assert written() == 6  # two answers without a challenger, two with, two shadows
    before = PredictionRecord.objects.get(pk=uuid.UUID(first["X-Prediction-Id"]))
    assert (before.role, before.shadow_of) == ("", None)
    answer_id = uuid.UUID(with_shadow.json()["prediction_ids"][0].split("-")[0])
    answer = PredictionRecord.objects.get(pk=answer_id)
    shadow = PredictionRecord.objects.get(shadow_of=answer_id)
    assert (answer.role, answer.version, answer.alias) == ("champion", 1, "production")
    assert (shadow.role, shadow.version, shadow.alias) == ("shadow", 2, "production")
    assert shadow.model_version_id == challenger.pk
    assert shadow.outputs == pytest.approx(other.expected, abs=1e-6)
    assert shadow.inputs == answer.inputs
    assert shadow.requested_at == answer.requested_at
    assert shadow.outputs != pytest.approx(answer.outputs, abs=1e-6), "two different models"
    assert current().shadows.stats()["scored"] == 2


def test_a_shadow_with_fewer_features_scores_the_champions_rows_projected(bot, xgb):
    trained, champion = xgb
    fewer = factories.xgboost_on(("atr_pct", "rsi_14", "spread_bps"))
    version = register(fewer, "edge-xgb")
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=version,
        mode="shadow",
    )
    rows = trained.probe[:4]
    response = predict(bot, "edge-xgb", {"instances": instances(trained, rows)})
    assert response.json()["predictions"] == pytest.approx(trained.expected[:4], abs=1e-6)
    written()
    shadow = PredictionRecord.objects.get(role="shadow")
    columns = [trained.features.index(name) for name in fewer.features]
    assert shadow.inputs == rows[:, columns].tolist()
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(fewer.data))
    expected = booster.predict(xgboost.DMatrix(rows[:, columns], feature_names=fewer.features))
    assert shadow.outputs == pytest.approx(expected.tolist(), abs=1e-6)


def test_a_canary_answers_its_share_of_keys_and_the_same_side_for_the_same_key(bot, pair):
    trained, other, champion, challenger = pair
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="canary",
        share=0.2,
    )
    # The split over many keys: the hash's share is within binomial tolerance (5 sigma).
    keys = [f"account-{n}" for n in range(20_000)]
    share = np.mean([bucket(model="edge-xgb", alias="production", key=k) < 0.2 for k in keys])
    assert abs(share - 0.2) < 5 * np.sqrt(0.2 * 0.8 / len(keys))
    # Through the API: 300 keys, each asked twice, answered by the same side both times.
    row = {"instances": instances(trained, trained.probe[:1])}
    sides = {}
    for n in range(300):
        key = f"acct-{n}"
        for _ in range(2):
            response = bot.post(
                "/api/v1/models/edge-xgb/predict", row, format="json", HTTP_X_ROUTING_KEY=key
            )
            body = response.json()
            side = body.get("served_by", "champion")
            assert sides.setdefault(key, side) == side, f"{key} changed sides"
            expected = other.expected[0] if side == "challenger" else trained.expected[0]
            assert body["version"] == (2 if side == "challenger" else 1)
            assert body["predictions"][0] == pytest.approx(expected, abs=1e-6)
            assert body["alias"] == "production"
    part = sum(side == "challenger" for side in sides.values()) / len(sides)
    assert abs(part - 0.2) < 5 * np.sqrt(0.2 * 0.8 / len(sides)), part
    # No key: the champion, always.
    for _ in range(20):
        assert "served_by" not in predict(bot, "edge-xgb", row).json()
    written()
    answered = PredictionRecord.objects.filter(shadow_of__isnull=True, role="challenger")
    assert answered.count() == 2 * sum(s == "challenger" for s in sides.values())
    assert set(answered.values_list("model_version_id", flat=True)) == {challenger.pk}
    # Every answer is scored by the other side in shadow.
    pairs = PredictionRecord.objects.filter(role="shadow")
    assert pairs.count() == PredictionRecord.objects.exclude(role="shadow").count()
    assert set(
        pairs.filter(shadow_of__in=answered.values_list("id", flat=True)).values_list(
            "model_version_id", flat=True
        )
    ) == {champion.pk}


def test_removing_the_challenger_stops_shadows_and_canaries(bot, pair):
    trained, _other, champion, challenger = pair
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="canary",
        share=0.5,
    )
    challenger_clear(
        model=champion.model, alias="production", expected_challenger=challenger, reason="enough"
    )
    current().resolver.forget()
    row = {"instances": instances(trained, trained.probe[:1])}
    for n in range(40):
        response = bot.post(
            "/api/v1/models/edge-xgb/predict", row, format="json", HTTP_X_ROUTING_KEY=f"k{n}"
        )
        assert response.json()["version"] == 1 and "served_by" not in response.json()
    assert current().shadows.stats()["queued"] == 0
    written()
    assert set(PredictionRecord.objects.values_list("role", flat=True)) == {""}


@pytest.mark.parametrize(
    "key", ["x" * 201, "tab\there", "nul\x00", "bell\x07"], ids=["long", "tab", "nul", "ctrl"]
)
def test_a_hostile_routing_key_is_a_400_in_the_one_error_body(bot, pair, key):
    trained, *_ = pair
    try:
        response = bot.post(
            "/api/v1/models/edge-xgb/predict",
            {"instances": instances(trained, trained.probe[:1])},
            format="json",
            HTTP_X_ROUTING_KEY=key,
        )
    except Exception as exc:  # the test client refuses some header values itself
        pytest.skip(f"the test client cannot send it: {exc}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"][0]["field"] == "X-Routing-Key"


def test_a_shadow_that_fails_is_dropped_and_counted_and_the_answer_stands(bot, pair, settings):
    trained, _other, champion, challenger = pair
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
    )
    ModelVersion.objects.filter(pk=challenger.pk).update(sha256="0" * 64)  # fails its check
    current().resolver.forget()
    response = predict(bot, "edge-xgb", {"instances": instances(trained)})
    assert response.json()["predictions"] == pytest.approx(trained.expected, abs=1e-6)
    assert written() == 1
    assert current().shadows.stats()["failed"] == 1
    settings.SERVING_SHADOW_QUEUE_MAX = 1
    predict(bot, "edge-xgb", {"instances": instances(trained)})
    predict(bot, "edge-xgb", {"instances": instances(trained)})
    assert current().shadows.stats()["dropped_full"] == 1


def test_a_challenger_that_no_longer_fits_the_moved_alias_is_ignored_not_failed(bot, pair):
    _, _, champion, challenger = pair
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="canary",
        share=0.99,
    )
    fewer = factories.xgboost_on(("atr_pct", "rsi_14"))
    narrow = register(fewer, "edge-xgb")
    alias_move(
        model=champion.model,
        alias="production",
        version=narrow,
        confirm_breaking=True,
        reason="bots send two features now",
    )
    current().resolver.forget()
    body = {"instances": instances(fewer, fewer.probe[:2])}
    for n in range(10):
        response = bot.post(
            "/api/v1/models/edge-xgb/predict", body, format="json", HTTP_X_ROUTING_KEY=f"k{n}"
        )
        assert response.status_code == 200, response.content
        assert response.json()["version"] == 3 and "served_by" not in response.json()
    assert current().shadows.stats()["queued"] == 0
