"""One spelling of a review tag or mistake (no Django import).

A reviewer types "Chased", another " chased ", a third "CHASED": one tag. Every tag and
mistake is written the same way on the way in (journal.reviews.trade_review, which the
admin's review form and any API call), and every lookup by tag (the list's filter, the
dashboard's, GET /api/v1/trades?tag=) spells the value it is given the same way, so a
tag is found in any case:

- Unicode compatibility form (NFKC: a full-width "chased" is the ASCII one),
- case-folded (str.casefold, Unicode's caseless matching: "Straße" is "strasse"),
- runs of white space turned into one space, none at either end.

A tag holds no comma (the separator of the form and of the CSV export), no control
character and no lone surrogate (no database stores those in JSON), and has at most
MAX_LENGTH characters once spelled; a review has at most MAX_TAGS of each kind.
Migration journal/0017 spelled the stored tags this way, merging their variants.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TAGS = 20
MAX_LENGTH = 40
SEPARATOR = ","
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class TagProblem(ValueError):
    """A tag that cannot be stored; the message says why in plain words."""


def spelling(text: str) -> str:
    """The one spelling of ``text`` as a tag: NFKC, case-folded, spaces collapsed.

    No checks: lookups use it on whatever is asked for (a tag that cannot exist is
    simply not found), the migration on what is stored."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def problem(text: str) -> str | None:
    """Why ``text`` (already spelled) cannot be a tag, or None."""
    if _SURROGATE.search(text):
        return "a tag cannot hold a lone surrogate (text that is not Unicode)"
    if _CONTROL.search(text):
        return "a tag cannot hold control characters"
    if SEPARATOR in text:
        return "a tag cannot hold a comma (commas separate tags)"
    if len(text) > MAX_LENGTH:
        return f"a tag has at most {MAX_LENGTH} characters: {text[:MAX_LENGTH]}…"
    return None


def clean_tags(value, *, what: str = "tags") -> list[str]:
    """``value`` (a list of words, or text with the words separated by commas) as the
    sorted list of their spellings, without empty words or repeats.

    Raises TagProblem naming the first word that cannot be a tag, or the count."""
    if isinstance(value, str):
        value = value.split(SEPARATOR)
    elif value is None:
        value = []
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise TagProblem(f"{what} must be a list of words")
    spelled = set()
    for raw in value:
        word = spelling(raw)
        if not word:
            continue
        why = problem(word)
        if why:
            raise TagProblem(why)
        spelled.add(word)
    if len(spelled) > MAX_TAGS:
        raise TagProblem(f"at most {MAX_TAGS} {what} (got {len(spelled)})")
    return sorted(spelled)


def text_of(tags) -> str:
    """A list of tags as a person reads and types it: "chased, late entry"."""
    return f"{SEPARATOR} ".join(tags or [])
