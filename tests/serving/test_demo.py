"""`manage.py demo` shows the loop: recorded predictions of the demo models, ideas that
name them, trades that name the ideas, and live figures on every production version."""

import pytest

from desk import demo as desk_demo
from desk.models import TradeIdea
from journal import demo as journal_demo
from journal.models import Trade
from journal.selectors import trade_desk_links
from models_registry import demo as registry_demo
from serving import demo
from serving.models import PredictionRecord
from serving.performance import production_health

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def test_the_demo_records_predictions_links_ideas_and_trades_and_judges_the_models():
    for app in (journal_demo, desk_demo, registry_demo):
        app.seed()
    summary = demo.seed()
    assert "trade-outcome-xgboost: 120 predictions (120 recorded)" in summary, summary
    by_model = {
        name: PredictionRecord.objects.filter(model=name).count()
        for name in ("trade-outcome-xgboost", "trade-outcome-lightgbm")
    }
    assert by_model == {"trade-outcome-xgboost": 120, "trade-outcome-lightgbm": 120}
    ideas = TradeIdea.objects.exclude(prediction_id="")
    assert ideas.count() == 180
    trades = Trade.objects.filter(idea_id__in=ideas.values("pk"))
    assert trades.count() > 100
    chain = trade_desk_links(trade=trades.order_by("trade_id").first())
    assert chain["predictions"][0].record.model.startswith("trade-outcome-")
    judged = {p.label: p for p in production_health()}
    lightgbm = judged["trade-outcome-lightgbm@1"]
    assert "drift" in lightgbm.marks and lightgbm.drift.worst_feature == "spread_bps"
    xgboost = judged["trade-outcome-xgboost@1"]
    assert xgboost.trades.trades > 50 and xgboost.calibration.trades == xgboost.trades.trades
    assert "drift" not in xgboost.marks
    assert demo.seed().startswith("kept "), "a second run keeps what is there"
    assert PredictionRecord.objects.count() == 240
