"""Issue 26, item 4 through the API: two rollbacks sent at once both answered 200 (move
14 went v2 -> v1, move 15 "rolled back" move 14 to v2, and production ended on the
version being rolled back). Each change now names what its caller saw; of changes sent
at once from several connections exactly one is made, the others are a 409 in the one
error body, and nothing moves twice."""

import json
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from models_registry.challengers import challenger_set
from models_registry.models import AliasMove, ChallengerChange, ModelAlias
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations
from tests.serving.conftest import register

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/api/v1/models/edge-xgb/aliases/production"


@pytest.fixture
def managers(django_user_model):
    """Four model managers, each on a browser session of their own."""
    run_group_migrations()
    clients = []
    for number in range(4):
        user = django_user_model.objects.create_user(f"manager-{number}", is_staff=True)
        user.groups.add(Group.objects.get(name="Model manager"))
        client = APIClient()
        client.force_login(user)
        clients.append(client)
    return clients


@pytest.fixture
def versions(db):
    """Versions 1 to 4 of edge-xgb (one schema); production moved from 1 to 2."""
    return [
        register(factories.xgboost_model(seed=s), "edge-xgb", alias="production" if s < 2 else None)
        for s in range(4)
    ]


def production():
    return ModelAlias.objects.select_related("version", "challenger").get(
        model__name="edge-xgb", name="production"
    )


def send_at_once(requests) -> list:
    """Each (client, method, path, body) in a thread of its own, all at once; answers."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def run(index, client, method, path, body):
        try:
            barrier.wait(10)
            answers[index] = getattr(client, method)(
                path, json.dumps(body), content_type="application/json"
            )
        except BaseException as exc:  # reported by the assertions
            answers[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, *request))
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_a_rollback_names_the_move_it_undoes(managers, versions):
    response = managers[0].post(f"{BASE}/rollback", {"reason": "bad"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["move"]
    assert production().version == versions[1]


def test_the_state_names_the_last_move_to_undo(managers, versions):
    last = AliasMove.objects.latest("id")
    state = managers[0].get(f"{BASE}/challenger").json()
    assert state["last_move"] == {
        "move": last.pk,
        "from_version": 1,
        "to_version": 2,
        "breaking": False,
        "reason": "",
        "rollback_of": None,
        "evidence_rows": None,
        "thin_evidence": False,
    }


def test_two_rollbacks_sent_at_once_roll_back_once(managers, versions):
    v1 = versions[0]
    last = AliasMove.objects.latest("id")
    body = {"move": last.pk, "reason": "AUC fell"}
    answers = send_at_once([(c, "post", f"{BASE}/rollback", body) for c in managers])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409], answers
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["code"] == "conflict"
        assert f"not #{last.pk}" in refused.json()["detail"]
    assert production().version == v1, "production is on the version rolled back to"
    assert AliasMove.objects.filter(rollback_of=last).count() == 1
    assert AliasMove.objects.count() == 3


def test_promotions_and_challenger_changes_sent_at_once_make_one_change(managers, versions):
    """A promotion clicked twice, and two managers setting another challenger, all on
    the page that showed version 3 beside version 2."""
    v1, v2, v3, v4 = versions
    challenger_set(
        model=v2.model,
        alias="production",
        version=v3,
        mode="shadow",
        expected_version=v2,
        expected_challenger=None,
    )
    seen = {"expected_version": 2, "expected_challenger": 3}
    answers = send_at_once(
        [
            (managers[0], "post", f"{BASE}/challenger/promote", {**seen, "reason": "held"}),
            (managers[1], "put", f"{BASE}/challenger", {**seen, "version": 4, "mode": "shadow"}),
            (managers[2], "put", f"{BASE}/challenger", {**seen, "version": 1, "mode": "shadow"}),
            (managers[3], "post", f"{BASE}/challenger/promote", {**seen, "reason": "held"}),
        ]
    )
    statuses = [a.status_code for a in answers]
    assert sorted(statuses) == [200, 409, 409, 409], answers
    winner = statuses.index(200)
    alias = production()
    assert (alias.version, alias.challenger) == {
        0: (v3, None),
        1: (v2, v4),
        2: (v2, v1),
        3: (v3, None),
    }[winner]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["code"] == "conflict", refused.json()
    assert ChallengerChange.objects.count() == 2  # the first set, and the winner
    assert AliasMove.objects.count() == (3 if winner in (0, 3) else 2)


def test_a_change_made_on_a_stale_view_is_a_409_naming_what_changed(managers, versions):
    v2, v3 = versions[1:3]
    put = managers[0].put(
        f"{BASE}/challenger",
        {"version": 3, "mode": "shadow", "expected_version": 2, "expected_challenger": None},
        format="json",
    )
    assert put.status_code == 200, put.content
    # Another manager, looking at the page before the challenger was set:
    stale = managers[1].put(
        f"{BASE}/challenger",
        {"version": 4, "mode": "shadow", "expected_version": 2, "expected_challenger": None},
        format="json",
    )
    assert stale.status_code == 409
    assert stale.json()["detail"].startswith(
        "edge-xgb:production's challenger is version 3 now, not none you saw"
    )
    assert stale.json()["errors"][0]["field"] == "expected_challenger"
    promote = managers[1].post(
        f"{BASE}/challenger/promote",
        {"expected_version": 1, "expected_challenger": 3},
        format="json",
    )
    assert promote.status_code == 409 and promote.json()["errors"][0]["field"] == (
        "expected_version"
    )
    remove = managers[1].delete(f"{BASE}/challenger?expected_challenger=4")
    assert remove.status_code == 409
    assert (production().version, production().challenger) == (v2, v3)
    unknown = managers[1].delete(f"{BASE}/challenger?expected_challenger=99")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == (
        "expected_challenger"
    )
    missing = managers[1].delete(f"{BASE}/challenger")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "expected_challenger"
