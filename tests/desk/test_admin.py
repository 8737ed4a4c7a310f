"""The desk in the admin: approve and reject, the risk config page, read-only history."""

import pytest

from desk.models import Action, Decision, IdeaStatus, TradeIdea
from desk.services import idea_submit
from tests.desk.conftest import idea

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(open_desk):
    submitted, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="api-key:ai-engine")
    assert submitted.status == IdeaStatus.NEEDS_APPROVAL
    return submitted


@pytest.fixture
def desk_client(client, risk_manager):
    client.force_login(risk_manager)
    return client


@pytest.mark.smoke
def test_the_idea_page_shows_the_gate_the_timeline_and_the_buttons(desk_client, waiting):
    page = desk_client.get(f"/admin/desk/tradeidea/{waiting.pk}/change/").content.decode()
    assert '<tr class="gate-fail" data-rule="watchlist"><td>Watchlist</td>' in page
    assert "sends to a person" in page
    assert "AI proposed" in page and "ai_proposed" not in page
    assert 'id="approve-idea"' in page and 'id="reject-idea"' in page


@pytest.mark.smoke
def test_a_risk_manager_approves_from_the_idea_page(desk_client, waiting, risk_manager):
    url = f"/admin/desk/tradeidea/{waiting.pk}/approve/"
    confirm = desk_client.get(url).content.decode()
    # The gate run again now, its table, and a reason to give; nothing decided yet.
    assert 'data-rule="watchlist"' in confirm and 'name="reason"' in confirm
    assert "asks for nothing but a person" in confirm and 'name="override_reason"' not in confirm
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.NEEDS_APPROVAL
    refused = desk_client.post(url, {"reason": ""})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    response = desk_client.post(url, {"reason": "GBP data is out; the level held"}, follow=True)
    assert f"#{waiting.pk} Long GBPUSD: Approved by rosa at" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == IdeaStatus.APPROVED and waiting.decided_by == risk_manager
    decision = Decision.objects.get(action=Action.HUMAN_APPROVED)
    assert decision.actor == "rosa" and decision.human_override
    assert decision.rationale == "GBP data is out; the level held"
    assert decision.override_reason is None


@pytest.mark.smoke
def test_rejecting_asks_for_a_reason(desk_client, waiting):
    url = f"/admin/desk/tradeidea/{waiting.pk}/reject/"
    assert "reason" in desk_client.get(url).content.decode()
    response = desk_client.post(url, {"reason": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.NEEDS_APPROVAL
    desk_client.post(url, {"reason": "spread too wide"})
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.REJECTED
    assert Decision.objects.get(action=Action.HUMAN_REJECTED).rationale == "spread too wide"


@pytest.mark.smoke
def test_deciding_twice_tells_the_second_person(desk_client, waiting):
    url = f"/admin/desk/tradeidea/{waiting.pk}/approve/"
    desk_client.post(url, {"reason": "fine"})
    response = desk_client.post(url, {"reason": "fine too"}, follow=True)
    assert "no longer waits for approval" in response.content.decode()


@pytest.mark.smoke
def test_a_reviewer_without_desk_rights_cannot_approve(client, django_user_model, waiting):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert client.post(f"/admin/desk/tradeidea/{waiting.pk}/approve/").status_code == 403
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.NEEDS_APPROVAL


@pytest.mark.smoke
def test_decisions_are_read_only_even_for_a_superuser(admin_client, waiting):
    decision = Decision.objects.first()
    assert admin_client.get("/admin/desk/decision/").status_code == 200
    page = admin_client.get(f"/admin/desk/decision/{decision.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert admin_client.get(f"/admin/desk/decision/{decision.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/desk/decision/add/").status_code == 403


@pytest.mark.smoke
def test_the_bulk_reject_asks_for_one_reason_and_rejects_each(desk_client, open_desk):
    ideas = [idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")[0] for _ in range(2)]
    ids = [i.pk for i in ideas]
    response = desk_client.post(
        "/admin/desk/tradeidea/", {"action": "reject_selected", "_selected_action": ids}
    )
    assert response.status_code == 302 and "reject-selected" in response.url
    page = desk_client.get(response.url).content.decode()
    assert "Reject 2 idea(s)" in page
    desk_client.post(
        "/admin/desk/tradeidea/reject-selected/",
        {"ids": ",".join(map(str, ids)), "reason": "correlated exposure"},
    )
    assert set(TradeIdea.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        IdeaStatus.REJECTED
    }
    assert (
        Decision.objects.filter(
            action=Action.HUMAN_REJECTED, rationale="correlated exposure"
        ).count()
        == 2
    )
