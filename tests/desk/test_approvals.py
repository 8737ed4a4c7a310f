"""An approval is a decision with the gate's rigour (issue 27).

One click approved idea #4 of the demo: three days old, no stop, off the watchlist and
outside its strategy's session; the bulk action approved #18 (no stop) and said
"Approved 1 idea(s); -1 not waiting for approval". Now approving runs the gate again at
that moment and shows its table first; a reason is required; an idea that is stale, has
no stop or that the gate now rejects is approved only with a written override, kept and
shown; bulk approval takes only ideas that ask for nothing but approval and counts
right; nobody approves an idea they proposed.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from desk.models import Action, Decision, IdeaStatus, TradeIdea
from desk.services import (
    ApprovalNeedsOverride,
    DeskError,
    approval_review,
    idea_approve,
    idea_submit,
    ideas_approve,
    risk_config_update,
)
from tests.desk.conftest import idea

pytestmark = pytest.mark.django_db

LIST = "/admin/desk/tradeidea/"


def gbp(**overrides):
    """An idea off the watchlist: the gate asks for a person, nothing else."""
    values = {
        "symbol": "GBPUSD",
        "entry_price": Decimal("1.2700"),
        "stop_loss": Decimal("1.2650"),
        "take_profit": Decimal("1.2800"),
    }
    return idea(**{**values, **overrides})


@pytest.fixture
def waiting(open_desk):
    submitted, _ = idea_submit(idea=gbp(), actor="api-key:ai-engine")
    assert submitted.status == IdeaStatus.NEEDS_APPROVAL
    return submitted


@pytest.fixture
def desk_client(client, risk_manager):
    client.force_login(risk_manager)
    return client


def test_an_idea_that_asks_only_for_a_person_is_approved_with_a_reason(waiting, risk_manager):
    with pytest.raises(DeskError, match="say why you approve it"):
        idea_approve(idea_id=waiting.pk, user=risk_manager, reason="  ")
    approved, review = idea_approve(idea_id=waiting.pk, user=risk_manager, reason="GBP data out")
    assert review.asks_only_approval and approved.status == IdeaStatus.APPROVED
    decision = Decision.objects.get(action=Action.HUMAN_APPROVED)
    assert (decision.rationale, decision.override_reason) == ("GBP data out", None)
    # The decision keeps the gate as it ran at the approval, not at the submission.
    assert decision.risk_check_result == review.verdict_json


def test_a_stale_idea_needs_an_override(waiting, risk_manager, clock, settings):
    clock.shift((settings.DESK_APPROVAL_MAX_AGE_MINUTES + 1) * 60)
    with pytest.raises(ApprovalNeedsOverride) as refused:
        idea_approve(idea_id=waiting.pk, user=risk_manager, reason="still valid")
    assert refused.value.field == "override_reason"
    assert "min old (approvals take ideas up to 30 min old)" in str(refused.value)
    assert TradeIdea.objects.get(pk=waiting.pk).status == IdeaStatus.NEEDS_APPROVAL
    idea_approve(
        idea_id=waiting.pk,
        user=risk_manager,
        reason="still valid",
        override_reason="the level has not been touched since",
    )
    decision = Decision.objects.get(action=Action.HUMAN_APPROVED)
    assert decision.override_reason.startswith("the idea is 31 min old")
    assert decision.override_reason.endswith("Overridden: the level has not been touched since")


def test_an_idea_without_a_stop_needs_an_override(open_desk, risk_manager):
    submitted, _ = idea_submit(idea=idea(stop_loss=None), actor="bot")
    assert submitted.status == IdeaStatus.NEEDS_APPROVAL
    review = approval_review(submitted)
    assert "it has no stop loss" in review.overrides
    with pytest.raises(ApprovalNeedsOverride):
        idea_approve(idea_id=submitted.pk, user=risk_manager, reason="fine")


def test_an_idea_the_gate_now_rejects_needs_an_override(waiting, risk_manager):
    # Since the submission the risk manager lowered the lot limit below the idea's.
    risk_config_update(
        changes={"max_lot_size": Decimal("0.05")}, actor="test", reason="smaller lots"
    )
    review = approval_review(waiting)
    (rejects,) = [text for text in review.overrides if text.startswith("the gate now rejects")]
    assert "Maximum lot size: 0.1 lots (limit 0.05 lots)" in rejects
    with pytest.raises(ApprovalNeedsOverride):
        idea_approve(idea_id=waiting.pk, user=risk_manager, reason="fine")


def test_nobody_approves_an_idea_they_proposed(open_desk, risk_manager):
    own, _ = idea_submit(idea=gbp(), actor=risk_manager.get_username())
    with pytest.raises(DeskError, match="you proposed this idea"):
        idea_approve(idea_id=own.pk, user=risk_manager, reason="mine is good")


def test_the_approve_page_runs_the_gate_again_and_shows_what_is_overridden(
    desk_client, open_desk, clock
):
    """The reproduction: a three-day-old idea without a stop, off the watchlist."""
    old, _ = idea_submit(idea=gbp(stop_loss=None), actor="api-key:ai-engine")
    clock.shift(3 * 86400)
    url = f"{LIST}{old.pk}/approve/"
    page = desk_client.get(url).content.decode()
    assert 'id="override-needed"' in page and "it has no stop loss" in page
    assert "the idea is 3 d 0 h old" in page and 'name="override_reason"' in page
    assert 'class="gate-table"' in page  # the gate's table as it runs now
    refused = desk_client.post(url, {"reason": "looks fine"})
    assert refused.status_code == 200
    assert "Say why in the override reason" in refused.content.decode()
    assert TradeIdea.objects.get(pk=old.pk).status == IdeaStatus.NEEDS_APPROVAL
    done = desk_client.post(
        url, {"reason": "checked", "override_reason": "the stop sits at the broker"}
    )
    assert done.status_code == 302
    decision = Decision.objects.get(action=Action.HUMAN_APPROVED)
    assert "Overridden: the stop sits at the broker" in decision.override_reason


def test_bulk_approval_takes_only_ideas_that_ask_for_nothing_else(
    desk_client, open_desk, risk_manager
):
    plain, _ = idea_submit(idea=gbp(), actor="bot")
    no_stop, _ = idea_submit(idea=gbp(stop_loss=None), actor="bot")
    executed, _ = idea_submit(idea=idea(), actor="bot")
    assert executed.status == IdeaStatus.AUTO_EXECUTED
    ids = f"{plain.pk},{no_stop.pk},{executed.pk}"
    page = desk_client.get(f"{LIST}approve-selected/", {"ids": ids}).content.decode()
    assert f"#{plain.pk} Long GBPUSD" in page.split('id="ready"')[1].split("</ul>")[0]
    left = page.split('id="left"')[1].split("</ul>")[0]
    assert f"#{no_stop.pk}: needs an override: it has no stop loss" in left
    assert f"#{executed.pk}: not waiting for approval" in left
    response = desk_client.post(
        f"{LIST}approve-selected/", {"ids": str(plain.pk), "reason": "all checked"}, follow=True
    )
    assert "Approved 1 idea(s)." in response.content.decode()
    assert TradeIdea.objects.get(pk=plain.pk).status == IdeaStatus.APPROVED
    assert TradeIdea.objects.get(pk=no_stop.pk).status == IdeaStatus.NEEDS_APPROVAL
    # The service counts what it left, never a negative number.
    result = ideas_approve(
        idea_ids=[plain.pk, no_stop.pk, executed.pk], user=risk_manager, reason="again"
    )
    assert (len(result.approved), len(result.skipped)) == (0, 3)


def test_approvals_and_overrides_read_on_the_idea_page(desk_client, waiting, risk_manager, clock):
    clock.shift(45 * 60)
    idea_approve(
        idea_id=waiting.pk, user=risk_manager, reason="checked", override_reason="no news since"
    )
    page = desk_client.get(f"{LIST}{waiting.pk}/change/").content.decode()
    assert "no news since" in page


def test_an_approval_is_refused_while_the_limits_are_full(waiting, risk_manager):
    """An approval is an execution: it counts against the limits like one."""
    risk_config_update(changes={"max_concurrent_trades": 1}, actor="test", reason="one at a time")
    idea_submit(idea=idea(), actor="bot")  # executed: the one allowed
    with pytest.raises(ApprovalNeedsOverride) as refused:
        idea_approve(idea_id=waiting.pk, user=risk_manager, reason="go")
    assert "Open trades: 1 (limit 1)" in str(refused.value)


def test_timeline_keeps_the_approval_moment(waiting, risk_manager, clock):
    at = clock.now() + timedelta(minutes=5)
    clock.move_to(at)
    approved, review = idea_approve(idea_id=waiting.pk, user=risk_manager, reason="ok")
    assert abs(review.now - at) < timedelta(seconds=5)
    assert abs(approved.decided_at - at) < timedelta(seconds=5)
