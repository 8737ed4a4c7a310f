"""The pieces of the trade admin (journal.admin): its paginator, change list, review form
and the helpers that display a trade's links and figures."""

from __future__ import annotations

from datetime import timedelta
from operator import attrgetter
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from backoffice.core.admin_links import change_url, changelist_url, linked
from backoffice.core.admin_site import ChangeList
from journal.admin.sorting import FIGURE_SORTS
from journal.instruments import instrument_for
from journal.models import ReviewStatus, Trade, TradeReview
from journal.reviews import GRADES
from journal.selectors import (
    COUNT_CAP,
    model_versions_by_label,
    trade_checks_for,
    trade_count_estimate,
)
from journal.tags import TagProblem, clean_tags, text_of
from journal.write import checks

REVIEW_FORM_FIELDS = {
    "review_status": "status",
    "grade": "grade",
    "tags": "tags",
    "notes": "notes",
    "mistakes": "mistakes",
}


class TradePaginator(Paginator):
    """A paginator whose count never reads the whole trade table (see trade_count_estimate)."""

    cap = COUNT_CAP

    @cached_property
    def _counted(self) -> tuple[int, str]:
        return trade_count_estimate(queryset=self.object_list, cap=self.cap)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_kind(self) -> str:
        """ "exact", "estimate" or "capped" (more than the cap), for the template."""
        return self._counted[1]


def review_value_text(field: str, value: str) -> str:
    """A value of the review history as the staff read it: a status by its label."""
    if field == "status" and value in ReviewStatus.values:
        return ReviewStatus(value).label
    return value or "—"


def review_of(trade: Trade) -> TradeReview | None:
    try:
        return trade.review
    except TradeReview.DoesNotExist:
        return None


def model_version_link(label: str, version_pk: int | None):
    """A link to the registry's version page where there is one, else the plain label."""
    if not label:
        return "—"
    if version_pk is not None and apps.is_installed("models_registry"):
        url = change_url(apps.get_model("models_registry", "ModelVersion"), version_pk)
        return linked(url, label) if url else label
    return label


class TradeChangeList(ChangeList):
    """Looks up the page's model versions in the registry and its capture checks, one
    query each. A sort by a trade's figure (P&L, R, holding or close time) lists the
    trades that have one (journal.admin.sorting)."""

    figure_sorts: tuple[str, ...] = ()

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        names = [item.lstrip("-") for item in ordering if isinstance(item, str)]
        self.figure_sorts = tuple(name for name in names if name in FIGURE_SORTS)
        return ordering

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        for name in self.figure_sorts:
            # "IS NOT NULL" on the indexed expression: the index walk skips the rest.
            queryset = queryset.filter(**{f"{name}__isnull": False})
        return queryset

    def get_results(self, request):
        super().get_results(request)
        page = list(self.result_list)
        links = model_versions_by_label(labels={t.model_version for t in page if t.model_version})
        flagged = trade_checks_for(trades=page)
        for trade in page:
            trade.registry_version_pk = links.get(trade.model_version)
            trade.capture_check = flagged.get((trade.trade_id, trade.executed_at))


TAG_CHIPS = 3  # tags shown under a review in the list; the rest counted


def tag_chips(review: TradeReview | None):
    """A review's tags and mistakes under its status in the list: a few of each, the
    rest counted ("+2"), every one in the title."""
    if review is None or not (review.tags or review.mistakes):
        return ""
    parts = []
    for css, words in (("tag-chip", review.tags), ("tag-chip mistake-chip", review.mistakes)):
        shown = words[:TAG_CHIPS]
        more = len(words) - len(shown)
        parts.append(format_html_join("", '<span class="{}">{}</span>', ((css, w) for w in shown)))
        if more:
            parts.append(format_html('<span class="tag-more">+{}</span>', more))
    title = text_of(review.tags)
    if review.mistakes:
        title = f"{title}; mistakes: {text_of(review.mistakes)}".lstrip("; ")
    chips = mark_safe("".join(parts))  # noqa: S308 - each part was escaped by format_html
    return format_html('<span class="cell-sub tag-chips" title="{}">{}</span>', title, chips)


def capture_check_of(trade: Trade):
    """The trade's TradeCheck (None when clean): looked up with the list's page, or now."""
    if hasattr(trade, "capture_check"):
        return trade.capture_check
    return trade_checks_for(trades=[trade]).get((trade.trade_id, trade.executed_at))


def checks_cell(trade: Trade):
    """The list's flags of a trade (under its P&L): each flag's short label, its reason
    in the title; nothing for a clean trade."""
    check = capture_check_of(trade)
    if check is None:
        return ""
    instrument = instrument_for(trade.symbol)
    return format_html_join(
        "",
        '<span class="check-flag" title="{}">⚠ {}</span>',
        ((checks.message(c, trade, instrument), checks.LABEL_OF[c]) for c in check.flagged),
    )


def checks_text(trade: Trade):
    """The trade page's account of the checks: every reason in full."""
    instrument = instrument_for(trade.symbol)
    if instrument is None:
        return f"not checked: {trade.symbol} is no active instrument of the desk"
    check = capture_check_of(trade)
    if check is None:
        return "clean: prices on the tick, the quantity on the step, the P&L as the prices make it"
    return format_html_join(
        "",
        '<span class="check-flag">⚠ {}: {}</span>',
        ((checks.FIELD_OF[c], checks.message(c, trade, instrument)) for c in check.flagged),
    )


class TradeReviewForm(forms.ModelForm):
    """The review part of the trade page; no execution field is in this form."""

    review_status = forms.ChoiceField(label="Review status", choices=ReviewStatus.choices)
    grade = forms.ChoiceField(choices=[(g, g or "—") for g in GRADES], required=False)
    tags = forms.CharField(
        required=False,
        max_length=900,
        help_text="Words separated by commas, e.g. fomo, late. Any case: stored as one "
        "spelling (Chased and chased are one tag).",
    )
    notes = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea({"rows": 3}))
    mistakes = forms.CharField(
        required=False,
        max_length=900,
        help_text="The mistakes made, as tags separated by commas, e.g. chased, moved stop: "
        "the dashboard sets trades with each mistake against those without it.",
    )
    reason = forms.CharField(
        required=False,
        max_length=500,
        help_text="Needed to flag a trade; kept in the history with the changes saved now.",
    )

    class Meta:
        model = Trade
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        review = review_of(self.instance) if self.instance.pk else None
        if review is not None:
            self.initial.update(
                review_status=review.status,
                grade=review.grade,
                tags=text_of(review.tags),
                notes=review.notes,
                mistakes=text_of(review.mistakes),
            )
        else:
            self.initial.setdefault("review_status", ReviewStatus.UNREVIEWED)

    def clean_tags(self):
        return self._tags("tags")

    def clean_mistakes(self):
        return self._tags("mistakes")

    def _tags(self, name: str) -> str:
        """The words in their one spelling (journal.tags), as the form shows them: so a
        form that only respells a tag changes nothing."""
        try:
            return text_of(clean_tags(self.cleaned_data[name], what=name))
        except TagProblem as exc:
            raise forms.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None

    def clean(self):
        data = super().clean()
        flagging = "review_status" in self.changed_data and (
            data.get("review_status") == ReviewStatus.FLAGGED
        )
        if flagging and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the trade is flagged.")
        return data

    def review_changes(self) -> dict[str, object]:
        """The changed review fields, named as trade_review takes them."""
        return {
            REVIEW_FORM_FIELDS[name]: self.cleaned_data[name]
            for name in self.changed_data
            if name in REVIEW_FORM_FIELDS
        }


def admin_change_url(record) -> str:
    """The record's admin page, or "" when the reader may not open it."""
    return change_url(type(record), record.pk)


# The desk's records of the hours around a trade, while ideas carry no trade reference:
# (app label, model, its time field, link text).
NEARBY = (
    ("desk", "tradeidea", "created_at", "trade ideas"),
    ("desk", "decision", "occurred_at", "decisions"),
)
NEARBY_HOURS = 24


def nearby_desk_links(trade: Trade) -> list[tuple[str, str]]:
    """Links to the desk's ideas and decisions for the trade's symbol within a day of it."""
    links = []
    low = (trade.executed_at - timedelta(hours=NEARBY_HOURS)).isoformat()
    high = (trade.executed_at + timedelta(hours=NEARBY_HOURS)).isoformat()
    for app_label, model_name, time_field, text in NEARBY:
        if not apps.is_installed(app_label):
            continue
        try:
            model = apps.get_model(app_label, model_name)
            model._meta.get_field(time_field)
            model._meta.get_field("symbol")
        except (LookupError, FieldDoesNotExist):
            continue
        url = changelist_url(model)
        if not url:
            continue  # the reader may not open that list
        query = urlencode(
            {"symbol": trade.symbol, f"{time_field}__gte": low, f"{time_field}__lt": high}
        )
        links.append((f"{url}?{query}", f"{text} for {trade.symbol} within a day"))
    return links


# Rows a trade's signals or agent votes show at most (a bot may send 16 KB of them).
MAX_KEY_VALUE_ROWS = 100


def json_block(value) -> str:
    """A bot's JSON object (signals, agent votes) as a table a person reads: one row a
    value, nested keys joined with dots (``macd.hist``), lists inline, no JSON quotes."""
    if not value:
        return "—"
    if not isinstance(value, dict):
        return _json_text(value)
    rows = list(_flat_items(value, ""))
    shown = rows[:MAX_KEY_VALUE_ROWS]
    more = len(rows) - len(shown)
    return format_html(
        "<table class='key-values'><tbody>{}</tbody></table>{}",
        format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", shown),
        format_html("<p class='quiet'>and {} more</p>", f"{more:,}") if more else "",
    )


def _flat_items(value: dict, prefix: str):
    for key in sorted(value, key=str):
        item = value[key]
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            yield from _flat_items(item, f"{name}.")
        else:
            yield name, _json_text(item)


def _json_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_json_text(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_json_text(v)}" for k, v in sorted(value.items())) or "—"
    return str(value)


def _column_getter(model_admin, opts, name: str):
    attribute = getattr(model_admin, name, None)
    if callable(attribute):
        return attribute
    field = opts.get_field(name)
    if field.choices:
        return lambda obj: obj._get_FIELD_display(field)
    return attrgetter(field.attname)


def trade_rows(cl) -> list[str]:
    """The page's rows (the cells of each, joined) with the markup of items_for_result.

    Django renders each cell through lookup_field and display_for_field, the row's
    checkbox through the widget templates, and each cell again through the template
    engine: more than half of a 100-row page's time. The trade list knows its columns,
    so each column's getter is found once and a row is one string.
    """
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    links = set(cl.list_display_links or ())
    columns = [
        (
            name,
            "action-checkbox" if name == "action_checkbox" else f"field-{name}",
            _column_getter(model_admin, cl.lookup_opts, name),
        )
        for name in cl.list_display
    ]
    # One reverse() for the page: every row's link differs only by its id, and carries the
    # same preserved filters.
    marker = "0"
    sample = add_preserved_filters(
        {"preserved_filters": cl.preserved_filters, "opts": cl.opts},
        reverse(f"admin:{cl.opts.app_label}_{cl.opts.model_name}_change", args=[marker]),
    )
    before, after = sample.split(f"/{marker}/", 1)
    rows = []
    for obj in cl.result_list:
        cells = []
        for name, css, getter in columns:
            value = getter(obj)
            text = empty if value is None or value == "" else conditional_escape(value)
            if name in links:
                url = escape(f"{before}/{quote(obj.pk)}/{after}")
                cells.append(f'<th class="{css}"><a href="{url}">{text}</a></th>')
            else:
                cells.append(f'<td class="{css}">{text}</td>')
        rows.append(mark_safe("".join(cells)))  # noqa: S308 - every cell is escaped above
    return rows
