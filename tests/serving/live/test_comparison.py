"""Champion and challenger compared on figures worked by hand: four answers of the
champion, each scored in shadow by the challenger, each the cause of a trade."""

from datetime import timedelta

import pytest

from models_registry.challengers import challenger_set
from models_registry.models import ModelAlias
from serving.live.comparison import compare
from serving.live.recorder import Entry, new_record_id, prediction_ids, record_time
from serving.predict.runtime import current
from serving.served import ServedVersion
from tests.models_registry import factories
from tests.serving.conftest import register
from tests.serving.live.test_performance import idea_and_trade, now

pytestmark = pytest.mark.django_db

CHAMPION = [0.8, 0.3, 0.6, 0.9]
CHALLENGER = [0.7, 0.6, 0.2, 0.95]
WON = [True, False, True, False]


def answer_and_shadow(champion, challenger, ours: float, theirs: float) -> int:
    answer_id = new_record_id(now() - timedelta(days=2))
    row = [[1.0, 0.0, 1.0, 0.5, 2.0]]
    answer = Entry(
        answer_id,
        ServedVersion.of(champion),
        "production",
        "predict",
        row,
        None,
        [ours],
        False,
        2.0,
        "req",
        "engine",
        "",
        1.0,
        "champion",
    )
    current().recorder.submit(answer)
    current().recorder.submit(
        answer._replace(
            id=new_record_id(record_time(answer_id)),
            served=ServedVersion.of(challenger),
            outputs=[theirs],
            latency_ms=3.0,
            role="shadow",
            shadow_of=answer_id,
        )
    )
    return answer_id


def test_the_same_rows_and_the_same_trades_by_hand(xgb):
    _, champion = xgb
    challenger = register(factories.xgboost_model(seed=1), "edge-xgb")
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
    )
    for n, (ours, theirs, won) in enumerate(zip(CHAMPION, CHALLENGER, WON, strict=True)):
        answer_id = answer_and_shadow(champion, challenger, ours, theirs)
        idea_and_trade(n, prediction_ids(answer_id, 1)[0], won=won)
    assert current().recorder.flush() == 8
    alias = ModelAlias.objects.select_related("version", "challenger").get(name="production")
    c = compare(alias=alias)
    # Same side of 0.5: rows 1 and 4 of four. |difference|: 0.1, 0.3, 0.4, 0.05.
    assert (c.same_rows.pairs, c.same_rows.rows) == (4, 4)
    assert c.same_rows.agreement == 0.5
    assert c.same_rows.mean_abs_difference == pytest.approx(0.2125)
    assert c.same_rows.max_abs_difference == pytest.approx(0.4)
    # Brier on the same four trades: champion (0.04 + 0.09 + 0.16 + 0.81) / 4,
    # challenger (0.09 + 0.36 + 0.64 + 0.9025) / 4.
    assert c.champion_same_trades.trades == c.challenger_same_trades.trades == 4
    assert c.champion_same_trades.brier == pytest.approx(0.275)
    assert c.challenger_same_trades.brier == pytest.approx(0.498125)
    # Each one's own figures: the champion caused the trades, the shadow none.
    assert (c.champion.trades.trades, c.champion.trades.win_rate) == (4, 0.5)
    assert c.challenger.trades.trades == 0
    assert (c.champion.volume.recorded, c.challenger.volume.recorded) == (4, 4)
    assert c.challenger.volume.latency_p50_ms == 3.0
    as_json = c.as_dict()
    assert as_json["same_rows"]["agreement"] == 0.5
    assert as_json["same_trades"]["challenger"]["trades"] == 4
