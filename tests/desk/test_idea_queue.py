"""Trade ideas in the admin: an approval queue (those waiting first, oldest first, with
their age), readable titles, read-only pages without Save, and the gate's table written
like the rest of the admin (no JSON)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from desk.models import Decision, IdeaStatus, TradeIdea
from desk.services import idea_approve, idea_submit
from tests.admin.conftest import staff_member
from tests.desk.conftest import idea

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]

LIST = "/admin/desk/tradeidea/"


@pytest.fixture
def desk_client(client, risk_manager):
    client.force_login(risk_manager)
    return client


def listed(html: str) -> list[int]:
    return [
        int(pk)
        for pk in dict.fromkeys(re.findall(r'href="/admin/desk/tradeidea/(\d+)/change/', html))
    ]


def test_the_queue_lists_ideas_waiting_for_a_person_first_oldest_first(desk_client, open_desk):
    done, _ = idea_submit(idea=idea(), actor="bot")  # EURUSD, on the watchlist: executed
    first, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    second, _ = idea_submit(
        idea=idea(symbol="GBPUSD", confidence_score=Decimal("0.9")), actor="bot"
    )
    later, _ = idea_submit(idea=idea(), actor="bot")
    assert (first.status, done.status) == (IdeaStatus.NEEDS_APPROVAL, IdeaStatus.AUTO_EXECUTED)
    TradeIdea.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=12))
    TradeIdea.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    html = desk_client.get(LIST).content.decode()
    assert listed(html) == [first.pk, second.pk, later.pk, done.pk]
    assert '<span class="idea-age nowrap">12 min</span>' in html
    assert '<span class="idea-age nowrap">3 min</span>' in html
    assert f"#{first.pk} Long GBPUSD" in html and "Needs approval" in html
    assert "needs_approval<" not in html and "auto_executed<" not in html
    assert "1.08500" in html and "0.1 lots" in html and "80 % confidence" in html


def test_an_approval_reads_as_a_persons_everywhere(desk_client, open_desk, risk_manager):
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    page = desk_client.get(f"{LIST}{waiting.pk}/change/").content.decode()
    assert f"<h1>#{waiting.pk} Long GBPUSD: Needs approval</h1>" in page
    assert "Decided at" not in page and "Decided by" not in page
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert 'id="approve-idea"' in page
    idea_approve(idea_id=waiting.pk, user=risk_manager, reason="checked the chart")
    waiting.refresh_from_db()
    assert waiting.status == IdeaStatus.APPROVED
    page = desk_client.get(f"{LIST}{waiting.pk}/change/").content.decode()
    assert (
        f"#{waiting.pk} Long GBPUSD: Approved by rosa at {waiting.decided_at:%Y-%m-%d %H:%M} UTC"
        in page
    )
    assert "Decided at" in page and 'id="approve-idea"' not in page
    assert 'name="_save"' not in page
    row = desk_client.get(LIST).content.decode()
    assert "Approved</span>" in row and "by rosa" in row
    decision = Decision.objects.filter(trade_idea=waiting).latest("occurred_at")
    decision_page = desk_client.get(f"/admin/desk/decision/{decision.pk}/change/").content.decode()
    assert "Human approved" in decision_page and "human_approved" not in decision_page


def test_the_idea_page_posts_nothing(desk_client, open_desk):
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    response = desk_client.post(f"{LIST}{waiting.pk}/change/", {"symbol": "XAUUSD"})
    assert response.status_code == 403
    assert TradeIdea.objects.get(pk=waiting.pk).symbol == "GBPUSD"


def test_the_gate_table_is_written_like_the_rest_and_no_json_is_shown(desk_client, open_desk):
    from desk.services import risk_config_update

    risk_config_update(changes={"max_risk_per_trade": Decimal(40)}, actor="t", reason="tight")
    rejected, _ = idea_submit(idea=idea(lot_size=Decimal("0.5")), actor="bot")
    assert rejected.status == IdeaStatus.REJECTED
    page = desk_client.get(f"{LIST}{rejected.pk}/change/").content.decode()
    # |1.0850 - 1.0800| x 0.5 x 100,000 = 250 USD against 40 USD: failed, highlighted.
    risk_row = re.search(r'<tr class="(gate-\w+)" data-rule="max_risk_per_trade">(.*?)</tr>', page)
    assert risk_row.group(1) == "gate-fail"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", risk_row.group(2))
    assert cells[:5] == ["Risk per trade", "40.00 USD", "250.00 USD", "failed", "rejects"]
    drawdown = re.search(r'data-rule="max_drawdown">(.*?)</tr>', page).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", drawdown)[:3] == [
        "Drawdown",
        "-1,000.00 USD",
        "0.00 USD",
    ]
    stop = re.search(r'data-rule="stop_loss_side">(.*?)</tr>', page).group(1)
    assert "below the entry 1.08500" in stop and "1.08000" in stop
    assert "sends to a person" in page and "halts AI trading" in page
    assert "1 of" in page and "rules failed" in page
    for never in ('"checks"', "{&quot;", "risk_check_result", "max_risk_per_trade<", "0.5000000"):
        assert never not in page, never
    # The decision history says it in words too.
    proposed = Decision.objects.get(trade_idea=rejected)
    assert proposed.rationale == "Risk per trade: 250.00 USD (limit 40.00 USD)"


def test_rejecting_from_a_filtered_queue_comes_back_to_it(desk_client, open_desk):
    ideas = [idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")[0] for _ in range(2)]
    queue = f"{LIST}?status__exact=needs_approval"
    response = desk_client.post(
        queue, {"action": "reject_selected", "_selected_action": [ideas[0].pk]}
    )
    page = desk_client.get(response["Location"]).content.decode()
    assert "Long GBPUSD at 1.08500, stop 1.08000, 0.1 lots, confidence 80.0 %" in page
    done = desk_client.post(
        "/admin/desk/tradeidea/reject-selected/",
        {
            "ids": str(ideas[0].pk),
            "reason": "news",
            "_changelist_filters": "status__exact=needs_approval",
        },
    )
    assert done.status_code == 302 and done["Location"] == queue


def test_only_risk_managers_decide(client, django_user_model, open_desk):
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    for group in ("Reviewer", "Model manager", "Operator"):
        user = staff_member(django_user_model, f"who-{group[:3].lower()}", group)
        client.force_login(user)
        # A reviewer reads the ideas (the chain behind trades: issue 29), never decides.
        assert client.get(LIST).status_code == (200 if group == "Reviewer" else 403), group
        assert client.post(f"{LIST}{waiting.pk}/approve/").status_code == 403, group
        assert client.get(f"{LIST}{waiting.pk}/reject/").status_code == 403, group
        response = client.post(
            LIST, {"action": "approve_selected", "_selected_action": [waiting.pk]}
        )
        assert response.status_code == 403, group
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.NEEDS_APPROVAL
