"""The staff groups of the data migration, and who reaches what."""

import pytest
from django.contrib.auth.models import Group

from tests.admin.conftest import PASSWORD, make_trades, run_groups_migration

pytestmark = pytest.mark.smoke

REVIEWER = {
    "journal.view_trade",
    "journal.view_tradereview",
    "journal.change_tradereview",
    "journal.view_reviewchange",
}
ADMIN_PAGES = (
    "/admin/",
    "/admin/journal/trade/",
    "/admin/journal/trade/dashboard/",
    "/admin/journal/trade/export.csv",
    "/admin/journal/reviewchange/",
)


# Records with grants of their own migrations and tests: instruments (0009, below),
# broker statements (0018) and daily notes (0020, tests/journal).
OWN_GRANTS = ("_instrument", "_statementimport", "_dailynote")


def journal_permissions(group: Group) -> set[str]:
    """The group's permissions on the journal's trade records."""
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
        if p.content_type.app_label == "journal" and not p.codename.endswith(OWN_GRANTS)
    }


def test_risk_managers_keep_the_instruments_and_the_others_read_them(db):
    def instrument_grants(name):
        return {
            p.codename
            for p in Group.objects.get(name=name).permissions.all()
            if p.codename.endswith("_instrument")
        }

    assert instrument_grants("Risk manager") == {
        "view_instrument",
        "add_instrument",
        "change_instrument",
    }
    assert instrument_grants("Reviewer") == {"view_instrument"}
    assert instrument_grants("Operator") == {"view_instrument"}


def test_statements_and_notes_go_to_whose_job_they_are(db):
    def grants(name, suffix):
        return {
            p.codename
            for p in Group.objects.get(name=name).permissions.all()
            if p.codename.endswith(suffix)
        }

    statement = {"view_statementimport", "add_statementimport", "change_statementimport"}
    assert grants("Operator", "_statementimport") == statement
    assert grants("Risk manager", "_statementimport") == {"view_statementimport"}
    assert grants("Reviewer", "_statementimport") == set()
    note = {"view_dailynote", "add_dailynote", "change_dailynote"}
    assert grants("Reviewer", "_dailynote") == note
    assert grants("Risk manager", "_dailynote") == note
    assert grants("Operator", "_dailynote") == set()
    # Importing stores trades: no group may (journal.add_trade goes to a person).
    assert not any(
        Group.objects.get(name=name).permissions.filter(codename="add_trade").exists()
        for name in ("Operator", "Risk manager", "Reviewer")
    )


def test_the_migration_makes_three_groups_with_least_privilege(db):
    run_groups_migration()
    groups = {
        g.name: g
        for g in Group.objects.filter(name__in=["Reviewer", "Risk manager", "Model manager"])
    }
    assert set(groups) == {"Reviewer", "Risk manager", "Model manager"}
    assert journal_permissions(groups["Reviewer"]) == REVIEWER
    assert journal_permissions(groups["Risk manager"]) >= REVIEWER
    assert journal_permissions(groups["Model manager"]) == set()
    every = set().union(*(journal_permissions(g) for g in groups.values()))
    assert not {p for p in every if p.split(".")[1].startswith(("delete_", "add_"))}
    assert "journal.change_trade" not in every


def test_the_migration_runs_again_and_reverses(db):
    run_groups_migration()
    run_groups_migration()
    assert Group.objects.filter(name="Reviewer").count() == 1
    assert journal_permissions(Group.objects.get(name="Reviewer")) == REVIEWER
    run_groups_migration("backward")
    assert not Group.objects.filter(name__in=["Reviewer", "Risk manager", "Model manager"]).exists()
    run_groups_migration()
    assert journal_permissions(Group.objects.get(name="Reviewer")) == REVIEWER


def test_a_user_who_is_not_staff_never_reaches_the_admin_even_in_a_group(client, django_user_model):
    run_groups_migration()
    bot = django_user_model.objects.create_user("bot", password=PASSWORD)
    bot.groups.add(Group.objects.get(name="Reviewer"))
    assert bot.has_perm("journal.view_trade")  # the group is not what keeps it out
    client.force_login(bot)
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_anonymous_visitors_go_to_the_login_page(client, db):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_model_manager_does_not_see_the_journal(client, model_manager):
    make_trades(1)
    client.force_login(model_manager)
    for url in ADMIN_PAGES[1:]:
        assert client.get(url).status_code == 403, url
    assert "/admin/journal/trade/dashboard/" not in client.get("/admin/").content.decode()


def test_a_reviewer_sees_the_journal_and_the_dashboard_link_on_the_index(reviewer_client):
    html = reviewer_client.get("/admin/").content.decode()
    assert 'href="/admin/journal/trade/dashboard/"' in html
    assert 'href="/admin/journal/trade/"' in html


def test_a_risk_manager_reviews_trades_too(client, risk_manager):
    trade = make_trades(1)[0]
    client.force_login(risk_manager)
    response = client.post(
        "/admin/journal/trade/", {"action": "mark_reviewed", "_selected_action": [trade.pk]}
    )
    assert response.status_code == 302
    assert trade.__class__.objects.get(pk=trade.pk).review.status == "reviewed"
