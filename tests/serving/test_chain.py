"""The chain prediction → idea → decisions → trade → review, linked through the API and
the import, and walked both ways in the admin."""

import io
import re
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from desk.models import Decision, TradeIdea
from journal.models import Trade
from journal.selectors import trade_desk_links
from serving.predict.runtime import current
from tests.desk.conftest import idea_body, open_desk  # noqa: F401 - fixture
from tests.journal.conftest import trade_data
from tests.journal.test_import_export import csv_text
from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_bot(db):
    """The AI engine and its execution bot, one key: predicts, proposes, records."""
    _, raw = api_key_create(name="engine", scopes="predict,ideas:write,trades:write")
    return APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")


@pytest.fixture
def chain(engine_bot, xgb, open_desk, tmp_path):  # noqa: F811
    trained, version = xgb
    answer = predict(engine_bot, "edge-xgb", {"inputs": trained.probe[:2].tolist()}).json()
    current().recorder.flush()
    prediction_id = answer["prediction_ids"][1]
    body = idea_body(prediction_id=prediction_id, model_version="edge-xgb@1")
    del body["confidence_score"]  # the prediction's (desk.selectors.cited_confidence)
    submitted = engine_bot.post("/api/v1/trade-ideas", body, format="json")
    assert submitted.status_code == 201, submitted.content
    idea = TradeIdea.objects.get(pk=submitted.json()["id"])
    by_api = trade_data(trade_id="CHAIN-API", idea_id=idea.pk, stop_loss="1.0800")
    assert engine_bot.post("/api/v1/trades", by_api, format="json").status_code == 201
    path = tmp_path / "fills.csv"
    path.write_text(csv_text([trade_data(trade_id="CHAIN-CSV", idea_id=idea.pk)]))
    call_command("import_trades", str(path), "--no-progress", stdout=io.StringIO())
    return answer, prediction_id, idea, version


def test_a_trade_walks_back_to_the_prediction_that_caused_it(chain):
    answer, prediction_id, idea, version = chain
    assert idea.prediction_id == prediction_id
    for trade_id in ("CHAIN-API", "CHAIN-CSV"):
        trade = Trade.objects.get(trade_id=trade_id)
        assert trade.idea_id == idea.pk
        found = trade_desk_links(trade=trade)
        assert found["ideas"] == [idea]
        assert [d.trade_idea_id for d in found["decisions"]] == [idea.pk] * len(found["decisions"])
        assert found["decisions"], "the gate's decisions"
        (prediction,) = found["predictions"]
        assert prediction.record.model_version_id == version.pk
        assert prediction.row == 1 and prediction.output == answer["predictions"][1]


def test_the_admin_shows_the_chain_from_the_trade_and_links_back(chain, admin_client):
    _, prediction_id, idea, _ = chain
    trade = Trade.objects.get(trade_id="CHAIN-API")
    record_url = reverse(
        "admin:serving_predictionrecord_change", args=[uuid.UUID(hex=prediction_id[:32])]
    )
    idea_url = reverse("admin:desk_tradeidea_change", args=[idea.pk])
    trade_url = reverse("admin:journal_trade_change", args=[trade.pk])
    decisions = list(Decision.objects.filter(trade_idea=idea))
    decision_urls = [reverse("admin:desk_decision_change", args=[d.pk]) for d in decisions]

    page = admin_client.get(trade_url).content.decode()
    chain_html = re.search(r'<ol class="chain" id="trade-chain">.*?</ol>', page, re.S).group(0)
    steps = re.findall(r'data-step="(\w+)"', chain_html)
    assert steps == ["prediction", "idea", "decisions", "trade", "review"]
    for url in (record_url, idea_url, *decision_urls):
        assert f'href="{url}"' in chain_html, url
    assert prediction_id in chain_html and "Unreviewed" in chain_html

    idea_page = admin_client.get(idea_url).content.decode()
    assert f'href="{trade_url}"' in idea_page and f'href="{record_url}"' in idea_page
    for url in decision_urls:
        assert f'href="{url}"' in idea_page  # the timeline links each decision
    decision_page = admin_client.get(decision_urls[0]).content.decode()
    assert f'href="{idea_url}"' in decision_page and f'href="{trade_url}"' in decision_page
    record_page = admin_client.get(record_url).content.decode()
    assert f'href="{idea_url}"' in record_page and prediction_id in record_page


def test_a_prediction_that_was_not_recorded_ends_the_walk_saying_why(
    engine_bot,
    xgb,
    open_desk,  # noqa: F811
    admin_client,
    settings,
):
    trained, _ = xgb
    settings.SERVING_RECORD_SAMPLE_RATE = 0
    answer = predict(engine_bot, "edge-xgb", {"inputs": trained.probe[:1].tolist()}).json()
    current().recorder.flush()
    submitted = engine_bot.post(
        "/api/v1/trade-ideas", idea_body(prediction_id=answer["prediction_ids"][0]), format="json"
    )
    trade = trade_data(trade_id="UNRECORDED", idea_id=submitted.json()["id"])
    engine_bot.post("/api/v1/trades", trade, format="json")
    stored = Trade.objects.get(trade_id="UNRECORDED")
    assert trade_desk_links(trade=stored)["predictions"] == [answer["prediction_ids"][0]]
    page = admin_client.get(reverse("admin:journal_trade_change", args=[stored.pk])).content
    assert b"not recorded" in page
    lone = Trade.objects.create(
        trade_id="BY-HAND",
        executed_at=stored.executed_at,
        symbol="EURUSD",
        side="long",
        quantity=1,
        entry_price=1,
        status="open",
    )
    page = admin_client.get(reverse("admin:journal_trade_change", args=[lone.pk])).content
    assert b"no trade idea: the trade carries no idea_id" in page
