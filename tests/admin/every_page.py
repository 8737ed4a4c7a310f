"""Every page of the admin, for the Content-Security-Policy walks (issue 15).

``one_of_everything`` stores at least one row of every model the admin lists, some of
their text hostile (markup that would run if a page printed it raw), and
``admin_pages`` lists the pages a superuser may open: the index, each app's page, and
for every ModelAdmin of ``admin.site._registry`` its list, add, change, history and
delete pages (add and delete answer 403 where the admin refuses them), then the views
the apps add under /admin/.
The client walk (tests/admin/test_csp.py) fails when a new admin URL is neither
walked nor named in NOT_WALKED with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib import admin
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, reverse

from apikeys.services import api_key_create
from desk import demo as desk_demo
from desk.four_eyes import limit_change_request
from desk.models import IdeaStatus, LegacySetting, TradeIdea
from journal.instruments import instruments_seed
from journal.models import (
    DailyNote,
    QuarantinedLine,
    ReviewStatus,
    StatementImport,
    StatementStatus,
    Trade,
)
from journal.reviews import trade_review
from models_registry.challengers import challenger_set
from models_registry.errors import AwaitsSecondPerson
from models_registry.four_eyes import breaking_move_request
from models_registry.models import RegisteredModel
from models_registry.services import alias_move, model_register
from serving.predict.runtime import current
from serving.predict.services import prediction_make
from tests.admin.conftest import make_trades, run_groups_migration
from tests.models_registry.factories import xgboost_model, xgboost_on

# Text that runs script if a page ever printed it unescaped.
HOSTILE = (
    "<script>document.title='stored-xss'</script><img src=x onerror=\"document.title='img-xss'\">"
)

# Admin URL names no walk opens with GET, and why.
NOT_WALKED = {
    "login": "opened without a session (test_csp.py, the browser tests log in through it)",
    "logout": "POST only",
    "view_on_site": "a redirect to the object's own URL; no model has one",
    "autocomplete": "JSON for autocomplete widgets; no ModelAdmin has autocomplete_fields",
    "desk_tradeidea_approve": "POST only; the browser test presses the idea's Approve button",
    "desk_limitchangerequest_decide": "POST only (confirm or decline on the request's page)",
    "models_registry_breakingmoverequest_decide": (
        "POST only (confirm or decline on the request's page)"
    ),
}
STANDARD_PAGES = ("changelist", "add", "history", "delete", "change")


@dataclass(frozen=True)
class Page:
    name: str  # the admin URL name (without "admin:")
    url: str
    status: int = 200  # 403: the admin refuses it (adding or deleting a record)


def one_of_everything(superuser) -> dict[type, object]:
    """At least one row of each registered model; returns model -> one of its rows."""
    run_groups_migration()
    instruments_seed()
    trades = make_trades(3)
    make_trades(2, symbol="GBPUSD", pnl="-20.00", start_days_ago=6)
    trade_review(trade=trades[0], reviewer=superuser, reason=HOSTILE, status=ReviewStatus.FLAGGED)
    trade_review(trade=trades[1], reviewer=superuser, notes=HOSTILE, tags=["retest"])
    raw = b'{"trade": {"trade_id": "<script>x</script>", "symbol": "EURUSD"}}\n'
    QuarantinedLine.objects.create(
        source="spool-0001.jsonl",
        line_number=1,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        reason=f"quantity: {HOSTILE}",
    )
    # A broker statement whose dry run names hostile text, and a daily note of it.
    StatementImport.objects.create(
        filename=f"{HOSTILE}.html",
        format="mt5_html",
        content=b"<html></html>",
        size=13,
        sha256="0" * 64,
        uploaded_by=superuser,
        status=StatementStatus.CHECKED,
        check_report={
            "rows": 2,
            "trades": 1,
            "valid": 1,
            "new": 1,
            "closes": 0,
            "duplicates": 0,
            "invalid": 1,
            "skipped": 0,
            "errors": [{"line": 7, "field": HOSTILE, "reason": HOSTILE}],
            "notes": [HOSTILE],
            "unknown_symbols": [
                {
                    "symbol": "XYZ",
                    "rows": 1,
                    "proposal": {"symbol": "XYZ", "name": HOSTILE},
                    "missing": "the statement does not say the asset class",
                }
            ],
        },
    )
    DailyNote.objects.create(
        day=trades[0].executed_at.date(),
        plan=f"**{HOSTILE}**",
        review=HOSTILE,
        rules_broken=HOSTILE,
        written_by=superuser,
        updated_by=superuser,
    )
    # Strategies, the risk config and its history, ideas through the gate (decisions),
    # and snapshots of every kind: the desk's own demo data.
    desk_demo.seed()
    if not TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).exists():
        raise AssertionError("the desk's demo left no idea waiting for approval")
    LegacySetting.objects.create(category="appearance", key="theme", value={"name": HOSTILE})
    model = xgboost_model()
    first = model_register(
        name="edge", data=model.data, filename=model.filename, alias="production"
    )
    second = model_register(name="edge", data=xgboost_model(seed=1).data, filename=model.filename)
    alias_move(model=first.model, alias="staging", version=second, reason=HOSTILE)
    # A canary moved to a version without rsi_14 (a breaking move, confirmed) and a
    # metric of hostile name: its rollback page shows a schema diff and metric changes.
    narrow = model_register(
        name="edge",
        data=xgboost_on(("macd_hist", "atr_pct", "trend_strength")).data,
        filename=model.filename,
        metrics={"auc": 0.55, HOSTILE: 1},
    )
    alias_move(model=first.model, alias="canary", version=first)
    alias_move(
        model=first.model, alias="canary", version=narrow, confirm_breaking=True, reason=HOSTILE
    )
    api_key_create(name="bot-<b>eurusd</b>", scopes="trades:read")
    # Four eyes: a looser limit and a breaking move, each waiting for a second person.
    with override_settings(FOUR_EYES=True):
        limit_change_request(changes={"max_concurrent_trades": 99}, user=superuser, reason=HOSTILE)
        wider = model_register(
            name="edge", data=xgboost_on(("macd_hist", "atr_pct")).data, filename=model.filename
        )
        try:
            alias_move(
                model=first.model,
                alias="canary",
                version=wider,
                moved_by=superuser,
                confirm_breaking=True,
                reason=HOSTILE,
            )
        except AwaitsSecondPerson as waits:
            breaking_move_request(waits, user=superuser)
    # Version 2 shadows production (its reason hostile): the comparison page has a pair.
    challenger_set(
        model=first.model,
        expected_version=first,
        expected_challenger=None,
        alias="production",
        version=second,
        mode="shadow",
        reason=HOSTILE,
    )
    current().resolver.forget()
    # A recorded prediction (its key's name hostile), an idea from it, a trade from that.
    answer = prediction_make(
        model="edge",
        alias=None,
        version=None,
        body={"inputs": [model.probe[0].tolist()]},
        caller=("bot-<b>eurusd</b>", ""),
    )
    current().shadows.drain()
    current().recorder.flush()
    idea = TradeIdea.objects.order_by("pk").first()
    TradeIdea.objects.filter(pk=idea.pk).update(prediction_id=answer.prediction_ids[0])
    Trade.objects.filter(pk=trades[2].pk).update(idea_id=idea.pk)

    rows = {}
    for registered in admin.site._registry:
        row = registered._default_manager.order_by("pk").first()
        assert row is not None, f"one_of_everything makes no {registered.__name__}: add it"
        rows[registered] = row
    return rows


def admin_pages(superuser, rows: dict[type, object]) -> list[Page]:
    """The admin pages a superuser may GET, built from admin.site._registry."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    pages = [Page("index", reverse("admin:index"))]
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        pages.append(Page("app_list", reverse("admin:app_list", args=[app_label])))
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}"
        row = rows[model]
        refused = {
            "add": not model_admin.has_add_permission(request),
            "delete": not model_admin.has_delete_permission(request, row),
        }
        for kind in STANDARD_PAGES:
            args = [] if kind in ("changelist", "add") else [row.pk]
            url = reverse(f"admin:{prefix}_{kind}", args=args)
            pages.append(Page(f"{prefix}_{kind}", url, 403 if refused.get(kind) else 200))
    idea = TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).order_by("pk").first()
    trade_ids = ",".join(str(pk) for pk in Trade.objects.values_list("pk", flat=True)[:3])
    model = RegisteredModel.objects.order_by("pk").first()
    pages += [
        Page("password_change", reverse("admin:password_change")),
        Page("password_change_done", reverse("admin:password_change_done")),
        Page(
            "auth_user_password_change",
            reverse("admin:auth_user_password_change", args=[superuser.pk]),
        ),
        Page("jsi18n", reverse("admin:jsi18n")),
        Page("journal_trade_dashboard", reverse("admin:journal_trade_dashboard")),
        Page("journal_trade_flag", reverse("admin:journal_trade_flag") + f"?ids={trade_ids}"),
        Page("journal_trade_export", reverse("admin:journal_trade_export")),
        Page(
            "journal_dailynote_week",
            reverse("admin:journal_dailynote_week")
            + f"?week={DailyNote.objects.order_by('pk').first().day.isoformat()}",
        ),
        Page("desk_tradeidea_reject", reverse("admin:desk_tradeidea_reject", args=[idea.pk])),
        Page(
            "desk_tradeidea_approve_selected",
            reverse("admin:desk_tradeidea_approve_selected") + f"?ids={idea.pk}",
        ),
        Page(
            "desk_tradeidea_reject_selected",
            reverse("admin:desk_tradeidea_reject_selected") + f"?ids={idea.pk}",
        ),
        Page(
            "desk_tradeidea_approve_selected",
            reverse("admin:desk_tradeidea_approve_selected") + f"?ids={idea.pk}",
        ),
        Page(
            "models_registry_registeredmodel_move_alias",
            reverse("admin:models_registry_registeredmodel_move_alias", args=[model.pk]),
        ),
        Page(
            "models_registry_registeredmodel_rollback",
            reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk, "canary"]),
        ),
        Page(
            "serving_modelhealth_compare",
            reverse(
                "admin:serving_modelhealth_compare",
                args=[model.aliases.get(name="production").pk],
            ),
        ),
        Page(
            "serving_modelhealth_challenger_set",
            reverse("admin:serving_modelhealth_challenger_set", args=[model.pk]),
        ),
    ]
    return pages


def admin_url_names() -> set[str]:
    """Every named URL of the admin site."""

    def walk(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns)
            elif isinstance(entry, URLPattern) and entry.name:
                yield entry.name

    return set(walk(admin.site.get_urls()))


def approvable_idea_pk() -> int:
    return TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).order_by("-pk")[0].pk
