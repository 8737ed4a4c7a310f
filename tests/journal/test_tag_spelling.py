"""One spelling of a tag (issue 29): "Chased", "chased" and " chased " are one tag.

Tags and mistakes are spelled one way on the way in (the review service that the
admin's form calls), every lookup spells what it is asked for the same way (the list's
filters, the dashboard's, GET /api/v1/trades?tag=), and migration journal/0017 merged
the variants stored before it, turning the mistakes' free text into tags without losing
a word of it.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from hypothesis import given, settings
from hypothesis import strategies as st

from journal.models import ReviewChange, Trade, TradeReview
from journal.reviews import ReviewRejected, trade_review
from journal.selectors import forget_review_tags, review_tag_values, trades_tagged
from journal.tags import MAX_LENGTH, TagProblem, clean_tags, problem, spelling
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

# -- the spelling, pure ---------------------------------------------------------------


def _round_trips(char: str) -> bool:
    """A character whose upper, lower and title case fold back to its own fold (not
    the Turkish dotless i, whose capital is a plain I: a different letter)."""
    fold = char.casefold()
    return all(variant.casefold() == fold for variant in (char.upper(), char.lower(), char.title()))


words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")).filter(_round_trips),
    min_size=1,
    max_size=30,
)


@given(words)
@settings(max_examples=300)
def test_a_spelling_is_spelled_the_same_again(text):
    assert spelling(spelling(text)) == spelling(text)


@given(words)
@settings(max_examples=300)
def test_case_and_spacing_do_not_make_another_tag(text):
    spelled = spelling(text)
    for variant in (text.upper(), text.lower(), text.title(), f"  {text}\t", text.swapcase()):
        assert spelling(variant) == spelled, variant


def test_the_variants_a_desk_typed_are_one_tag():
    assert {spelling(t) for t in ("Chased", "chased", " chased ", "CHASED")} == {"chased"}
    assert spelling("Late  Entry") == spelling("late entry") == "late entry"
    assert spelling("Straße") == spelling("STRASSE") == "strasse"
    assert spelling("\uff43\uff48\uff41\uff53\uff45\uff44") == "chased"  # full-width letters


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (["chased\x00"], "control characters"),
        (["chased\x07"], "control characters"),
        (["\ud800chased"], "lone surrogate"),
        (["chased, late"], "comma"),
        (["x" * (MAX_LENGTH + 1)], f"at most {MAX_LENGTH} characters"),
        ([f"tag-{n}" for n in range(21)], "at most 20 tags"),
        ("a, " + "y" * 41, f"at most {MAX_LENGTH} characters"),
        ([1, 2], "must be a list of words"),
        ({"chased": True}, "must be a list of words"),
    ],
)
def test_what_cannot_be_a_tag_is_refused_saying_why(value, why):
    with pytest.raises(TagProblem, match=why):
        clean_tags(value)


def test_words_are_sorted_without_repeats_or_blanks():
    assert clean_tags("Late, chased,, CHASED , late ") == ["chased", "late"]
    assert clean_tags(None) == [] and clean_tags("") == [] and clean_tags([" ", ""]) == []
    assert problem("chased") is None


# -- the review service -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_cached_tags():
    """The tag filters' choices are cached for a minute (in the tier's Redis)."""
    forget_review_tags()
    yield
    forget_review_tags()


@pytest.fixture
def trades(db):
    record_trades([trade_data(trade_id=f"TAG-{n}") for n in range(3)])
    return list(Trade.objects.order_by("trade_id"))


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_user("rita", is_staff=True)


@pytest.mark.smoke
def test_reviews_store_one_spelling_of_tags_and_mistakes(trades, reviewer):
    trade_review(trade=trades[0], reviewer=reviewer, tags="Chased, Late Entry")
    trade_review(trade=trades[1], reviewer=reviewer, tags=[" chased ", "CHASED"])
    trade_review(trade=trades[2], reviewer=reviewer, tags=["chased"], mistakes="Moved  Stop")
    reviews = {r.trade.trade_id: r for r in TradeReview.objects.select_related("trade")}
    assert reviews["TAG-0"].tags == ["chased", "late entry"]
    assert reviews["TAG-1"].tags == ["chased"]
    assert reviews["TAG-2"].mistakes == ["moved stop"]
    assert review_tag_values() == ["chased", "late entry"]
    assert review_tag_values(field="mistakes") == ["moved stop"]


@pytest.mark.smoke
def test_respelling_a_tag_changes_nothing(trades, reviewer):
    trade_review(trade=trades[0], reviewer=reviewer, tags=["chased"])
    trade_review(trade=trades[0], reviewer=reviewer, tags=["Chased "])
    assert ReviewChange.objects.filter(field="tags").count() == 1


@pytest.mark.smoke
@pytest.mark.parametrize("field", ["tags", "mistakes"])
@pytest.mark.parametrize(
    "value", [["ok", "bad\x00"], ["\udfff"], ["a,b"], ["z" * 41], [f"t{n}" for n in range(21)]]
)
def test_a_bad_tag_is_refused_by_its_field_and_nothing_is_stored(trades, reviewer, field, value):
    with pytest.raises(ReviewRejected) as info:
        trade_review(trade=trades[0], reviewer=reviewer, **{field: value})
    assert info.value.field == field
    assert not TradeReview.objects.exists() and not ReviewChange.objects.exists()


@pytest.mark.smoke
@pytest.mark.parametrize("asked", ["chased", "Chased", " CHASED ", "chaSed"])
def test_a_tag_is_found_in_any_case(trades, reviewer, asked):
    trade_review(trade=trades[0], reviewer=reviewer, tags=["Chased"])
    trade_review(trade=trades[1], reviewer=reviewer, mistakes=["Chased"])
    found = trades_tagged(queryset=Trade.objects.all(), tag=asked)
    assert [t.trade_id for t in found] == ["TAG-0"]
    found = trades_tagged(queryset=Trade.objects.all(), tag=asked, field="mistakes")
    assert [t.trade_id for t in found] == ["TAG-1"]


@pytest.mark.smoke
def test_the_list_and_the_api_find_a_tag_in_any_case(trades, reviewer, reader, client):
    trade_review(trade=trades[0], reviewer=reviewer, tags=["late entry"], mistakes=["chased"])
    client.force_login(
        type(reviewer).objects.create_superuser("admin-tags", password="x-very-long-9")
    )
    for params in ({"tag": "Late Entry"}, {"tag": " LATE  entry"}, {"mistake": "CHASED"}):
        html = client.get("/admin/journal/trade/", params).content.decode()
        assert "TAG-0" in html and "TAG-1" not in html, params
        answer = reader.get("/api/v1/trades", params)
        assert answer.status_code == 200, answer.content
        assert [t["trade_id"] for t in answer.json()["results"]] == ["TAG-0"], params


# -- migration 0017: the stored variants merged, the mistakes' text kept -------------------


@pytest.mark.django_db(transaction=True)
def test_migration_0017_merges_the_variants_and_keeps_every_word_of_the_mistakes():
    executor = MigrationExecutor(connection)
    before = [("journal", "0016_quarantine_resubmission")]
    after = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        apps = MigrationExecutor(connection).loader.project_state(before).apps
        trade_model = apps.get_model("journal", "Trade")
        review_model = apps.get_model("journal", "TradeReview")
        record_trades([trade_data(trade_id=f"MIG-{n}") for n in range(4)])
        pks = dict(trade_model.objects.values_list("trade_id", "pk"))
        long_text = "Did not wait for the retest after the news candle closed above the range"
        rows = {
            "MIG-0": (["Chased", " chased ", "late entry"], "Chased; moved stop", ""),
            "MIG-1": (["CHASED", "Late  Entry"], "", "kept notes"),
            "MIG-2": ([], f"chased\n{long_text}", "first note"),
            "MIG-3": (["fomo"], "", ""),
        }
        for trade_id, (tags, mistakes, notes) in rows.items():
            review_model.objects.create(
                trade_id=pks[trade_id], tags=tags, mistakes=mistakes, notes=notes
            )
        MigrationExecutor(connection).migrate(after)
        stored = {
            r.trade.trade_id: (r.tags, r.mistakes, r.notes)
            for r in TradeReview.objects.select_related("trade")
        }
        assert stored["MIG-0"] == (["chased", "late entry"], ["chased", "moved stop"], "")
        assert stored["MIG-1"] == (["chased", "late entry"], [], "kept notes")
        # A part that cannot be a tag: the tags that can, and the whole text in the notes.
        tags, mistakes, notes = stored["MIG-2"]
        assert (tags, mistakes) == ([], ["chased"])
        assert notes.startswith("first note\n\n") and f"chased\n{long_text}" in notes
        assert stored["MIG-3"] == (["fomo"], [], "")
        forget_review_tags()  # the filter's choices are cached for a minute
        assert review_tag_values() == ["chased", "fomo", "late entry"]
        assert not ReviewChange.objects.exists()  # a spelling merge is nobody's review
    finally:
        MigrationExecutor(connection).migrate(after)
