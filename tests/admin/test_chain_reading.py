"""Reviewers read the chain prediction → idea → decisions → trade → review (issue 29).

A reviewer follows every link of a trade's chain and reads each page, read-only; a
link whose page the reader may not open is its text alone; and a refused staff page is
the admin's own page with its navigation, for every page and persona, never a bare
"403 Forbidden".
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from desk.models import Decision, TradeIdea
from journal.models import StatementImport, Trade
from serving.models import PredictionRecord
from tests.admin.conftest import staff_member
from tests.admin.every_page import admin_pages, one_of_everything
from tests.journal.conftest import operator_member

pytestmark = pytest.mark.django_db

PERSONAS = ("Reviewer", "Risk manager", "Model manager", "Operator")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("sam-super", password="pw-sam-super-1")


@pytest.fixture
def every_row(superuser):
    return one_of_everything(superuser)


def persona(django_user_model, group: str):
    if group == "Operator":
        return operator_member(django_user_model, "olga-operator")
    return staff_member(django_user_model, group.lower().replace(" ", "-"), group)


def chained_trade() -> Trade:
    """one_of_everything's trade of the idea that cites the recorded prediction."""
    idea = TradeIdea.objects.order_by("pk").first()
    return Trade.objects.get(idea_id=idea.pk, trade_id__startswith="T-")


def cited_record(idea) -> PredictionRecord:
    """The prediction record an idea cites (its prediction id: <record id>-<row>)."""
    import uuid

    return PredictionRecord.objects.get(id=uuid.UUID(idea.prediction_id.rsplit("-", 1)[0]))


def links(html: str) -> set[str]:
    return set(re.findall(r'href="(/admin/[^"]+)"', html))


def test_a_reviewer_follows_every_link_of_a_trades_chain(client, every_row, django_user_model):
    client.force_login(persona(django_user_model, "Reviewer"))
    trade = chained_trade()
    idea = TradeIdea.objects.get(pk=trade.idea_id)
    page = client.get(reverse("admin:journal_trade_change", args=[trade.pk])).content.decode()
    chain = page[page.index('id="trade-chain"') :]
    chain = chain[: chain.index("</ol>")]
    expected = {
        reverse("admin:desk_tradeidea_change", args=[idea.pk]),
        *(reverse("admin:desk_decision_change", args=[d.pk]) for d in idea.decisions.all()),
        reverse("admin:serving_predictionrecord_change", args=[cited_record(idea).pk]),
    }
    found = links(chain)
    assert expected <= found, (expected - found, chain)
    version = [url for url in found if "/models_registry/modelversion/" in url]
    assert version, chain
    for url in found | {version[0].replace("&amp;", "&")}:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        # Read-only: nothing to save, approve or reject.
        assert 'name="_save"' not in html, url
        assert "approve-idea" not in html and "reject-idea" not in html, url


def test_links_to_pages_the_reader_may_not_open_are_text(client, every_row, django_user_model):
    # An operator reads trades but reviews none: the chain is named, not linked.
    client.force_login(persona(django_user_model, "Operator"))
    trade = chained_trade()
    page = client.get(reverse("admin:journal_trade_change", args=[trade.pk])).content.decode()
    chain = page[page.index('id="trade-chain"') :]
    chain = chain[: chain.index("</ol>")]
    assert not [url for url in links(chain) if "/desk/" in url or "/serving/" in url], chain
    assert f"#{trade.idea_id}" in chain and 'class="unlinked' in chain
    # A model manager reads predictions but not the desk's ideas.
    client.force_login(persona(django_user_model, "Model manager"))
    record = cited_record(TradeIdea.objects.order_by("pk").first())
    page = client.get(
        reverse("admin:serving_predictionrecord_change", args=[record.pk])
    ).content.decode()
    assert "/admin/desk/tradeidea/" not in page
    assert "/admin/models_registry/modelversion/" in page


def test_a_refused_staff_page_is_the_admins_own_page(client, every_row, django_user_model):
    client.force_login(persona(django_user_model, "Reviewer"))
    response = client.get(reverse("admin:desk_riskconfig_changelist"), follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Trading back office" in html and 'id="nav-sidebar"' in html
    assert 'id="denied-reason"' in html and "403 Forbidden" not in html
    # A refusal that says why shows it.
    client.force_login(persona(django_user_model, "Operator"))
    statement = every_row[StatementImport]
    response = client.post(
        reverse("admin:journal_statementimport_change", args=[statement.pk]), {"action": "import"}
    )
    assert response.status_code == 403
    assert "needs the permission" in response.content.decode()


@pytest.mark.parametrize("group", PERSONAS)
def test_no_staff_page_answers_a_bare_403_to_any_persona(
    every_row, superuser, django_user_model, group
):
    client = Client()
    client.force_login(persona(django_user_model, group))
    refused = 0
    for page in admin_pages(superuser, every_row):
        response = client.get(page.url)
        if response.status_code != 403:
            continue
        refused += 1
        html = response.content.decode()
        assert "Trading back office" in html, (group, page.name)
        assert 'id="denied-reason"' in html, (group, page.name)
        assert 'href="/admin/"' in html, (group, page.name)
    assert refused, f"{group} was refused nothing: the walk proves nothing"


def test_a_failed_csrf_check_on_a_staff_page_is_the_admins_page(every_row, django_user_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(persona(django_user_model, "Reviewer"))
    trade = chained_trade()
    response = client.post(reverse("admin:journal_trade_change", args=[trade.pk]), {})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form could not be sent" in html and 'id="nav-sidebar"' in html


def test_chain_records_stay_read_only_for_reviewers(client, every_row, django_user_model):
    reviewer = persona(django_user_model, "Reviewer")
    client.force_login(reviewer)
    idea = TradeIdea.objects.order_by("pk").first()
    decision = Decision.objects.order_by("pk").first()
    assert client.post(reverse("admin:desk_tradeidea_approve", args=[idea.pk])).status_code == 403
    response = client.post(reverse("admin:desk_decision_change", args=[decision.pk]), {})
    assert response.status_code == 403
    # The API's reach is the model permissions', which reviewing does not widen.
    assert not reviewer.has_perm("desk.view_tradeidea")
    assert client.get("/api/v1/trade-ideas").status_code == 403
