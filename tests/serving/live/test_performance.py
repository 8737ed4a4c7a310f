"""A version judged live, end to end on real records, ideas and trades: the hand-worked
figures of tests/serving/live/test_judging.py come out of the database, through the API and
the admin, with the drift of tests/models_registry/test_profiles.py."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.urls import reverse

from desk.models import TradeIdea
from journal.write.capture import record_trades
from models_registry.services import model_register
from serving.live.figures import version_performance
from serving.live.recorder import Entry, new_record_id
from serving.predict.runtime import current
from serving.served import ServedVersion
from tests.models_registry import factories
from tests.serving.conftest import key_client, production_health
from tests.serving.live.test_judging import PAIRS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]


def now() -> datetime:
    """The test's clock (tests/clock.py): each test runs at each awkward instant."""
    return datetime.now(UTC)


def record(version, outputs, *, rows=None, latency=1.0, cached=False) -> int:
    """A recorded request of ``version`` (through the recorder: COPY, as in production)."""
    record_id = new_record_id(now() - timedelta(days=2))
    inputs = np.array(rows if rows is not None else [[1.0, 0.0, 1.0, 0.5, 2.0]] * len(outputs))
    current().recorder.submit(
        Entry(
            record_id,
            ServedVersion.of(version),
            "production",
            "predict",
            inputs,
            None,
            list(outputs),
            cached,
            latency,
            "req",
            "engine",
            "",
            1.0,
        )
    )
    return record_id


def idea_and_trade(n, prediction_id, *, won, stop=True, label="", closed_days_ago=1, closed=True):
    idea = TradeIdea.objects.create(
        symbol="EURUSD",
        direction="long",
        entry_price=Decimal("1.1000"),
        confidence_score=Decimal("0.5"),
        prediction_id=prediction_id,
        model_version=label,
    )
    opened = now() - timedelta(days=closed_days_ago, hours=2)
    trade = {
        "trade_id": f"J-{n}",
        "executed_at": opened.isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1",
        "entry_price": "1.1000",
        "idea_id": idea.pk,
    }
    if stop:
        trade["stop_loss"] = "1.0950"
    if closed:
        trade.update(
            closed_at=(opened + timedelta(hours=1)).isoformat(),
            exit_price="1.1100" if won else "1.0950",
            pnl="20" if won else "-10",
        )
    assert record_trades([trade]).created == 1


@pytest.fixture
def judged(xgb, lgbm):
    """edge-xgb@1's ten calibration trades, plus what must and must not count."""
    _, version = xgb
    _, other = lgbm
    for n, (probability, won) in enumerate(PAIRS):
        record_id = record(version, [probability], latency=float(n + 1), cached=n < 2)
        idea_and_trade(n, f"{record_id:032x}-0", won=won)
    # Not recorded (its id names no record): attributed by the idea's label, no calibration.
    unrecorded = f"{new_record_id():032x}-0"
    idea_and_trade(20, unrecorded, won=True, stop=False, label="edge-xgb@1")
    # Another version's prediction (though the label says edge-xgb@1), an old trade, an
    # open one, and a trade no idea caused: none of them counts for edge-xgb@1.
    idea_and_trade(21, f"{record(other, [0.9]):032x}-0", won=False, label="edge-xgb@1")
    idea_and_trade(22, f"{record(version, [0.5]):032x}-0", won=False, closed_days_ago=40)
    idea_and_trade(23, f"{record(version, [0.5]):032x}-0", won=True, closed=False)
    current().recorder.flush()
    return version, other


def test_the_hand_worked_trades_and_calibration_come_out_of_the_database(judged):
    version, other = judged
    judged_now = version_performance(version=version, days=30)
    trades = judged_now.trades
    # 10 trades with a stop (6 won at +2 R, +20; 4 lost at -1 R, -10) and the
    # unrecorded one (won, +20, no stop): 11 trades, 7 wins, net 7 x 20 - 4 x 10 = 100.
    assert (trades.trades, trades.wins, trades.losses) == (11, 7, 4)
    assert trades.win_rate == pytest.approx(7 / 11)
    assert trades.net_pnl == Decimal(100)
    assert trades.expectancy == pytest.approx(Decimal(100) / 11)
    assert trades.trades_with_stop == 10
    assert trades.average_r == pytest.approx((6 * 2 - 4) / 10)
    calib = judged_now.calibration
    assert calib.trades == 10
    assert calib.brier == pytest.approx(0.15186)
    assert calib.ece == pytest.approx(0.056)
    assert [b.trades for b in calib.bins] == [0, 4, 0, 0, 0, 0, 0, 4, 0, 2]
    # Its traffic: the 12 records made in the period (the 10, the old and the open one's).
    volume = judged_now.volume
    assert (volume.recorded, volume.requests, volume.rows) == (12, 12.0, 12.0)
    assert volume.cached_share == pytest.approx(2 / 12)
    assert volume.latency_p50_ms == pytest.approx(np.percentile([*range(1, 11), 1, 1], 50))
    other_judged = version_performance(version=other, days=30)
    assert (other_judged.trades.trades, other_judged.trades.losses) == (1, 1)
    assert other_judged.calibration.bins[9].trades == 1
    longer = version_performance(version=version, days=60)
    assert longer.trades.trades == 12  # the trade closed 40 days ago


def test_the_marks_follow_the_configured_thresholds(judged, settings):
    version, _ = judged
    assert version_performance(version=version).marks == []  # 10 trades < 30 to judge
    settings.MODEL_HEALTH_MIN_TRADES = 10
    settings.MODEL_HEALTH_CALIBRATION_ERROR_MAX = 0.05  # the ECE is 0.056
    assert version_performance(version=version).marks == ["calibration"]
    settings.MODEL_HEALTH_CALIBRATION_ERROR_MAX = 0.06
    settings.MODEL_HEALTH_BRIER_MAX = 0.15  # the Brier score is 0.15186
    assert version_performance(version=version).marks == ["calibration"]
    settings.MODEL_HEALTH_BRIER_MAX = 0.16
    assert version_performance(version=version).marks == []


def test_drift_is_the_hand_computed_psi_of_each_feature(db, settings):
    trained = factories.lightgbm_model()
    reference = np.repeat(np.arange(1, 101, dtype=np.float64).reshape(-1, 1), 5, axis=1)
    version = model_register(
        name="drifty",
        data=trained.data,
        filename=trained.filename,
        reference=reference,
        reference_source="training",
    )
    # The live rows of test_profiles' hand case in every column: PSI 0.274653 each.
    live = np.repeat([5.0, 15, 25, 35, 45, 55, 65, 75, 85, 95], [15] * 5 + [5] * 5)
    record(version, [0.5] * 100, rows=np.repeat(live.reshape(-1, 1), 5, axis=1))
    current().recorder.flush()
    drift = version_performance(version=version).drift
    assert drift.known and drift.live_rows == 100 and drift.reference_rows == 100
    assert [f.psi for f in drift.features] == [pytest.approx(0.274653, abs=1e-4)] * 5
    assert drift.max_psi == pytest.approx(0.2747, abs=1e-4)
    assert version_performance(version=version).marks == ["drift"]  # >= 0.2
    settings.MODEL_HEALTH_PSI_MAX = 0.3
    assert version_performance(version=version).marks == []
    unprofiled = model_register(name="plain", data=trained.data, filename=trained.filename)
    unknown = version_performance(version=unprofiled).drift
    assert not unknown.known and "profile_model plain 1 --reference" in unknown.reason


def test_the_api_answers_the_same_figures_to_whom_it_may(judged, staff):
    version, _ = judged
    url = "/api/v1/models/edge-xgb/versions/1/performance"
    body = key_client("trades:read", name="report").get(url + "?days=30").json()
    assert (body["model"], body["version"]) == ("edge-xgb", 1)
    assert body["trades"]["trades"] == 11 and body["trades"]["net_pnl"] == "100.00000000"
    assert body["trades"]["expectancy"] == "9.09090909"
    assert body["calibration"]["brier"] == pytest.approx(0.15186)
    assert body["training_metrics"] == version.metrics
    assert body["drift"]["known"] is False and body["marks"] == []
    assert key_client("predict", name="engine-2").get(url).status_code == 200
    refused = key_client("ideas:write", name="idea-only").get(url)
    assert refused.status_code == 403 and "view_modelversion" in refused.json()["detail"]
    assert staff.get(url).status_code == 403  # staff without the registry's view permission
    reader = key_client("trades:read", name="report-2")
    for query, status, field in [
        ("?days=0", 400, "days"),
        ("?days=x", 400, "days"),
        ("?days=99999", 400, "days"),
    ]:
        answer = reader.get(url + query)
        assert answer.status_code == status and answer.json()["errors"][0]["field"] == field
    assert reader.get("/api/v1/models/edge-xgb/versions/7/performance").status_code == 404
    assert reader.get("/api/v1/models/nope/versions/1/performance").status_code == 404
    assert reader.get("/api/v1/models/edge-xgb/versions/99999999999/performance").status_code == 404


def test_the_registry_page_and_the_health_list_show_the_figures(judged, admin_client, settings):
    version, _ = judged
    settings.MODEL_HEALTH_MIN_TRADES = 10
    settings.MODEL_HEALTH_CALIBRATION_ERROR_MAX = 0.05
    page = admin_client.get(
        reverse("admin:models_registry_modelversion_change", args=[version.pk])
    ).content.decode()
    assert 'id="live-performance"' in page and 'id="calibration-chart"' in page
    assert page.count('class="calibration-point"') == 3  # the three filled bins
    assert "0.1519" in page and "0.056" in page  # Brier, ECE
    assert "Drift unknown: no training distribution" in page
    health = admin_client.get(reverse("admin:serving_modelhealth_changelist")).content.decode()
    assert "edge-xgb" in health and "edge-lgbm" in health
    assert 'class="health-mark"' in health and "calibration" in health
    assert [p.label for p in production_health()] == ["edge-lgbm@1", "edge-xgb@1"]


def test_model_managers_see_the_health_list_and_reviewers_only_the_records(
    judged, django_user_model, client
):
    # Reviewers (and risk managers, who review trades too) read prediction records: the
    # chain behind a trade (issue 29); the health list stays the model managers'.
    from django.contrib.auth.models import Group

    from tests.security.test_api_permissions import run_group_migrations

    run_group_migrations()
    urls = [
        reverse("admin:serving_modelhealth_changelist"),
        reverse("admin:serving_predictionrecord_changelist"),
    ]
    for group, status in (("Model manager", 200), ("Reviewer", 403), ("Risk manager", 403)):
        user = django_user_model.objects.create_user(group.replace(" ", "-"), is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        assert client.get(urls[0]).status_code == status, (group, urls[0])
        assert client.get(urls[1]).status_code == 200, (group, urls[1])
        index = client.get(reverse("admin:index")).content.decode()
        assert (urls[0] in index) == (status == 200), group
