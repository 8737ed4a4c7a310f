"""The schema diff, the client-breaking verdict and the metric changes, at their edges.

Pure functions (models_registry.domain.promotions): no database.
"""

import math

import pytest

from models_registry.domain.promotions import (
    BETTER,
    UNCHANGED,
    WORSE,
    Moved,
    Retyped,
    breaks_clients,
    metric_changes,
    schema_diff,
)

pytestmark = pytest.mark.smoke


def schema(*spec: str) -> list[dict]:
    """``schema("rsi", "hour:int")``: the registry's ordered feature list."""
    out = []
    for item in spec:
        name, _, kind = item.partition(":")
        out.append({"name": name, "type": kind or "float"})
    return out


def test_the_same_schema_changes_nothing_and_breaks_nobody():
    diff = schema_diff(schema("rsi", "macd", "hour:int"), schema("rsi", "macd", "hour:int"))
    assert not diff.changed
    assert diff.unchanged == 3
    assert breaks_clients(diff) == []


def test_a_new_alias_has_no_clients_to_break():
    diff = schema_diff(None, schema("rsi", "macd"))
    assert not diff.changed and diff.unchanged == 2
    assert breaks_clients(diff) == []


def test_a_removed_feature_breaks_clients_that_still_send_it():
    diff = schema_diff(schema("rsi", "macd", "atr"), schema("macd", "atr"))
    assert diff.removed == ({"name": "rsi", "type": "float"},)
    assert (diff.added, diff.retyped, diff.reordered) == ((), (), ())
    (reason,) = breaks_clients(diff)
    assert reason.startswith("feature 'rsi' is removed")


def test_an_added_feature_is_required_so_it_breaks_clients_that_do_not_send_it():
    # The schema knows no optional feature: every one must be in every instance.
    diff = schema_diff(schema("rsi", "macd"), schema("rsi", "macd", "news_score"))
    assert diff.added == ({"name": "news_score", "type": "float"},)
    (reason,) = breaks_clients(diff)
    assert "'news_score' (float) is new and required" in reason


def test_a_retyped_feature_alone_breaks_clients():
    diff = schema_diff(schema("rsi", "session:int"), schema("rsi", "session:category"))
    assert diff.retyped == (Retyped("session", "int", "category"),)
    assert (diff.added, diff.removed, diff.reordered, diff.unchanged) == ((), (), (), 1)
    (reason,) = breaks_clients(diff)
    assert "changes type from int to category" in reason


def test_a_reorder_alone_breaks_positional_clients():
    diff = schema_diff(schema("rsi", "macd", "atr"), schema("macd", "rsi", "atr"))
    assert diff.reordered == (Moved("macd", 1, 0), Moved("rsi", 0, 1))
    assert (diff.added, diff.removed, diff.retyped, diff.unchanged) == ((), (), (), 1)
    (reason,) = breaks_clients(diff)
    assert "'macd', 'rsi' change places" in reason and "wrong features" in reason


def test_a_removal_at_the_front_shifts_columns_but_is_no_reorder():
    diff = schema_diff(schema("rsi", "macd", "atr"), schema("macd", "atr"))
    assert diff.reordered == () and diff.unchanged == 2


def test_a_rename_is_a_removal_and_an_addition():
    diff = schema_diff(schema("rsi", "macd"), schema("rsi_14", "macd"))
    assert [f["name"] for f in diff.removed] == ["rsi"]
    assert [f["name"] for f in diff.added] == ["rsi_14"]
    assert len(breaks_clients(diff)) == 2


def test_every_kind_of_change_at_once_is_named_and_recorded_as_json():
    old = schema("rsi", "macd", "atr", "hour:int")
    new = schema("atr", "macd", "hour:category", "volume")
    diff = schema_diff(old, new)
    assert diff.as_json() == {
        "added": [{"name": "volume", "type": "float"}],
        "removed": [{"name": "rsi", "type": "float"}],
        "retyped": [{"name": "hour", "old_type": "int", "new_type": "category"}],
        # macd keeps its column 1 while atr moves in front of it: only atr is named.
        "reordered": [{"name": "atr", "old_position": 2, "new_position": 0}],
        "unchanged": 1,
    }
    assert len(breaks_clients(diff)) == 4


def test_metrics_show_old_new_delta_and_mark_drops_by_direction():
    old = {"auc": 0.77, "logloss": 0.52, "accuracy": 0.7, "holdout_rows": 1000}
    new = {"auc": 0.55, "logloss": 0.69, "accuracy": 0.71, "holdout_rows": 1200}
    changes = {c.name: c for c in metric_changes(old, new)}
    assert list(changes) == ["accuracy", "auc", "holdout_rows", "logloss"]
    auc = changes["auc"]
    assert (auc.old, auc.new, auc.verdict, auc.dropped) == (0.77, 0.55, WORSE, True)
    assert auc.delta == pytest.approx(-0.22)
    assert changes["logloss"].verdict == WORSE, "a higher loss is a drop"
    assert changes["logloss"].delta == pytest.approx(0.17)
    assert changes["accuracy"].verdict == BETTER
    rows = changes["holdout_rows"]
    assert (rows.delta, rows.direction, rows.verdict) == (200, None, None), "no judgement"


@pytest.mark.parametrize(
    "name, old, new, verdict",
    [
        ("AUC", 0.7, 0.8, BETTER),  # names in any case
        ("rmse", 2.0, 1.5, BETTER),
        ("mae", 1.0, 1.2, WORSE),
        ("brier", 0.2, 0.2 + 1e-12, UNCHANGED),  # float noise is no change
        ("r2", 0.5, 0.5, UNCHANGED),
        ("f1", 0.6, 0.59, WORSE),
    ],
)
def test_each_known_metric_is_judged_by_its_direction(name, old, new, verdict):
    (change,) = metric_changes({name: old}, {name: new})
    assert change.verdict == verdict


@pytest.mark.parametrize(
    "old, new",
    [
        ({"auc": 0.7}, {}),  # gone in the new version
        ({}, {"auc": 0.7}),  # new
        ({"auc": "n/a"}, {"auc": 0.7}),  # text
        ({"auc": True}, {"auc": 0.7}),  # a boolean is no number
        ({"auc": math.nan}, {"auc": 0.7}),
        ({"auc": 0.7}, {"auc": math.inf}),
        ({"auc": [0.7]}, {"auc": {"x": 1}}),
    ],
)
def test_a_metric_without_a_number_on_both_sides_has_no_delta_and_no_verdict(old, new):
    (change,) = metric_changes(old, new)
    assert (change.delta, change.verdict, change.dropped) == (None, None, False)
    assert change.direction == "higher", "the direction is still known"


def test_metrics_that_are_not_objects_count_as_none():
    assert metric_changes(None, None) == []
    assert [c.name for c in metric_changes(["auc"], {"auc": 0.6})] == ["auc"]


def test_numbers_beyond_float_range_have_no_delta_instead_of_failing():
    (change,) = metric_changes({"auc": 10**400}, {"auc": 0.7})
    assert (change.delta, change.verdict) == (None, None)
