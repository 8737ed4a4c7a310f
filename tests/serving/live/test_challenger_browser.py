"""A model manager compares a shadow challenger with its champion and promotes it in
Chromium, under the Content-Security-Policy: the model-health list links the comparison,
the page shows the same rows' agreement, a breaking promotion is refused until its box
is ticked and a reason given, and the rollback is one link and one confirmation away.
Screenshots: tests/artifacts/screenshots/challenger-*.png.
"""

import re

import pytest

from models_registry.challengers import challenger_set
from models_registry.models import AliasMove, ChallengerChange, ModelAlias
from models_registry.services import model_register
from serving.predict.runtime import current
from serving.predict.services import prediction_make
from tests.admin.conftest import staff_member
from tests.admin.test_browser import chromium_page, shot
from tests.admin.test_csp_browser import BrowserReport, log_in, open_page
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """The promotion's journey by one person: four eyes has its own tests
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


HOSTILE = "<script>document.title='xss'</script>"


def test_a_shadow_challenger_is_compared_promoted_and_rolled_back(live_server, django_user_model):
    run_group_migrations()
    manager = staff_member(django_user_model, "mona-models", "Model manager")
    trained = factories.xgboost_model()
    v1 = model_register(
        data=trained.data, filename=trained.filename, name="edge", alias="production"
    )
    narrow = factories.xgboost_on(("macd_hist", "atr_pct", "trend_strength", "spread_bps"))
    v2 = model_register(data=narrow.data, filename=narrow.filename, name="edge")
    challenger_set(
        model=v1.model,
        expected_version=v1,
        expected_challenger=None,
        alias="production",
        version=v2,
        mode="shadow",
        reason=HOSTILE,
    )
    current().resolver.forget()
    for row in trained.probe[:6]:
        prediction_make(model="edge", alias=None, version=None, body={"inputs": [row.tolist()]})
    assert current().shadows.drain() == 6 and current().recorder.flush() == 12
    url = live_server.url
    with chromium_page() as page:
        report = BrowserReport().attach(page)
        log_in(page, url, manager.username)
        open_page(page, f"{url}/admin/serving/modelhealth/")
        shot(page, "challenger-health-list")
        page.click("td.field-challenger_link a")
        page.wait_for_url(re.compile(r"/challenger/\d+/$"))
        same = page.locator("#same-rows").inner_text()
        assert "answers scored by both\t6" in same and "rows scored by both\t6" in same
        assert "edge@2" in page.locator("#side-by-side").inner_text()
        assert HOSTILE in page.locator("#challenger-history").inner_text(), "shown as text"
        assert page.title() != "xss"
        shot(page, "challenger-compare")
        report.assert_clean("the comparison")

        page.click("input[value='Promote version 2 to production']")
        page.wait_for_selector(".errornote")
        assert "'rsi_14' is removed" in page.locator(".breaking-move").inner_text()
        assert "Nothing moved" in page.locator(".errornote").inner_text()
        shot(page, "challenger-promotion-refused")
        page.check("#id_promote-confirm_breaking")
        page.fill("#id_promote-reason", "bots dropped rsi_14")
        page.click("input[value='Promote version 2 to production']")
        page.wait_for_selector(".messagelist")
        assert "now points at version 2" in page.locator(".messagelist").inner_text()
        assert "has no challenger" in page.locator("#no-challenger").inner_text()
        shot(page, "challenger-promoted")
        report.assert_clean("the promotion")

        # Back to four features breaks the clients moved to version 2: the offer says so.
        assert "needs the confirmation of a breaking move" in page.locator("#rollback").inner_text()
        page.click("text=Review the rollback to version 1 (breaking: confirm)…")
        page.wait_for_url(re.compile(r"/rollback/production/$"))
        page.check("#id_confirm_breaking")
        page.fill("#id_reason", "shadow looked better than live")
        page.click("input[value='Yes, roll production back to version 1']")
        page.wait_for_url(re.compile(r"/registeredmodel/\d+/change/$"))
        assert (
            "rolled back from version 2 to version 1" in page.locator(".messagelist").inner_text()
        )
        report.assert_clean("the rollback")
    assert ModelAlias.objects.get(name="production").version == v1
    assert list(AliasMove.objects.order_by("id").values_list("reason", "breaking")) == [
        ("", False),
        ("bots dropped rsi_14", True),
        ("shadow looked better than live", True),
    ]
    assert list(ChallengerChange.objects.order_by("id").values_list("action", flat=True)) == [
        "set",
        "promoted",
    ]
