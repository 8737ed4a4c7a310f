"""A model manager's breaking promotion and its rollback in Chromium, under the
Content-Security-Policy: the review shows the schema diff and the AUC drop, "Yes" alone
is refused, the box and a reason move the alias, one button rolls it back.
Screenshots: tests/artifacts/screenshots/promotion-*.png.
"""

import re

import pytest

from models_registry.models import AliasMove, ModelAlias
from models_registry.services import model_register
from tests.admin.conftest import staff_member
from tests.admin.test_browser import chromium_page, shot
from tests.admin.test_csp_browser import BrowserReport, log_in, open_page
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


HOSTILE = "<script>document.title='xss'</script>"


def test_a_breaking_promotion_is_reviewed_confirmed_and_rolled_back(live_server, django_user_model):
    run_group_migrations()  # a transactional test may start on flushed tables
    manager = staff_member(django_user_model, "mona-models", "Model manager")
    trained = factories.xgboost_model()
    v1 = model_register(
        data=trained.data,
        filename=trained.filename,
        name="edge",
        alias="production",
        metrics={"auc": 0.7712, "logloss": 0.5214, "holdout_rows": 1000},
    )
    narrow = factories.xgboost_on(("macd_hist", "atr_pct", "trend_strength", "spread_bps"))
    model_register(
        data=narrow.data,
        filename=narrow.filename,
        name="edge",
        metrics={"auc": 0.5531, "logloss": 0.6893, "holdout_rows": 1000},
    )
    url = live_server.url
    with chromium_page() as page:
        report = BrowserReport().attach(page)
        log_in(page, url, manager.username)
        open_page(page, f"{url}/admin/models_registry/registeredmodel/{v1.model.pk}/change/")
        page.click("text=Move an alias")
        page.wait_for_url(re.compile(r"/move-alias/$"))
        page.fill("#id_alias", "production")
        page.select_option("#id_version", label="edge@2")
        page.click("input[value='Review the move']")
        page.wait_for_selector("#breaking-move")
        assert "'rsi_14' is removed" in page.locator("#breaking-move").inner_text()
        assert "rsi_14" in page.locator("#schema-diff").inner_text()
        auc = page.locator("#metric-changes tr.metric-worse", has_text="auc")
        assert auc.inner_text().split("\t") == ["auc", "0.7712", "0.5531", "-0.2181", "▼ worse"]
        colour = auc.locator("td").first.evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(180, 35, 24)", "drops are marked by admin.css"
        shot(page, "promotion-review-breaking")
        report.assert_clean("the review of a breaking move")

        page.click("input[value='Yes, move production to version 2']")
        page.wait_for_selector(".errornote")
        assert "would break its clients" in page.locator(".errorlist").first.inner_text()
        shot(page, "promotion-refused")
        page.check("#id_confirm_breaking")
        page.fill("#id_reason", HOSTILE)
        page.click("input[value='Yes, move production to version 2']")
        page.wait_for_url(re.compile(r"/registeredmodel/\d+/change/$"))
        assert "a breaking move, confirmed" in page.locator(".messagelist").inner_text()
        assert HOSTILE in page.locator(".field-history").inner_text(), "shown as text"
        assert page.title() != "xss"
        report.assert_clean("the confirmed move")

        page.click("text=Roll back production to v1")
        page.wait_for_url(re.compile(r"/rollback/production/$"))
        assert "is new and required" in page.locator("#breaking-move").inner_text()
        shot(page, "promotion-rollback-review")
        page.check("#id_confirm_breaking")
        page.fill("#id_reason", "v2's AUC is 0.55")
        page.click("input[value='Yes, roll production back to version 1']")
        page.wait_for_url(re.compile(r"/registeredmodel/\d+/change/$"))
        message = page.locator(".messagelist").inner_text()
        assert "rolled back from version 2 to version 1" in message
        shot(page, "promotion-rolled-back")
        report.assert_clean("the rollback")
    assert ModelAlias.objects.get(name="production").version == v1
    moves = list(AliasMove.objects.order_by("id").values_list("reason", "breaking"))
    assert moves == [("", False), (HOSTILE, True), ("v2's AUC is 0.55", True)]
