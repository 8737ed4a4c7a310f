"""Daily notes in the admin, and the weekly recap.

/admin/journal/dailynote/?day=YYYY-MM-DD lists a day's notes, rendered, with the day's
trades and the week's recap a click away (the dashboard's calendar and the trade page
link here); add/?day=... writes the day's note. /admin/journal/dailynote/week/?week=
2026-W24 (or a day of it) is the weekly recap: P&L, win rate, R, the best and worst
trades, rule breaks and the notes, for the desk or one account or strategy.
"""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from backoffice.core import formatting
from backoffice.core.admin_site import ModelAdmin
from journal.display import pnl_text
from journal.models import DailyNote
from journal.notes.markdown import markdown_html
from journal.notes.recap import BadWeek, week_recap, week_start
from journal.notes.services import daily_note_write, note_text_problems
from journal.selectors import trade_distinct_values

MARKDOWN_FIELDS = ("levels", "rules", "plan", "review")


def day_trades_url(day: date) -> str:
    """The trade list of the trades opened on ``day`` (UTC)."""
    query = urlencode({"executed_from": day.isoformat(), "executed_to": day.isoformat()})
    return f"{reverse('admin:journal_trade_changelist')}?{query}"


def note_sections(note: DailyNote) -> list[tuple[str, str]]:
    """The note's filled sections, rendered: (title, safe HTML)."""
    sections = []
    if note.bias:
        sections.append(("Bias", format_html("<p>{}</p>", note.get_bias_display())))
    for name, title in (
        ("levels", "Levels"),
        ("rules", "Rules"),
        ("plan", "Plan"),
        ("review", "Review"),
    ):
        text = getattr(note, name)
        if text.strip():
            sections.append((title, markdown_html(text)))
    if note.rules_broken_list:
        items = format_html_join("", "<li>{}</li>", ((line,) for line in note.rules_broken_list))
        sections.append(("Rules broken", format_html("<ul>{}</ul>", items)))
    return sections


@admin.register(DailyNote)
class DailyNoteAdmin(ModelAdmin):
    list_display = ["day", "scope", "bias", "plan_summary", "reviewed", "breaks", "updated_by"]
    list_display_links = ["day", "scope"]
    list_filter = ["bias"]
    list_select_related = ["updated_by"]
    search_fields = ["=account", "=strategy"]
    ordering = ["-day", "account", "strategy"]
    change_list_template = "admin/journal/dailynote/change_list.html"
    readonly_fields = ["rendered", "written", "updated"]
    fieldsets = [
        (None, {"fields": ["day", "account", "strategy"]}),
        (
            "Before the session: the plan",
            {
                "fields": ["bias", "levels", "rules", "plan"],
                "description": "Markdown: **bold**, *italic*, lists, tables, [links](https://…). "
                "HTML is shown as text.",
            },
        ),
        ("After the session: the review", {"fields": ["review", "rules_broken"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        return [*self.fieldsets, ("As it reads", {"fields": ["rendered", "written", "updated"]})]

    def has_delete_permission(self, request, obj=None):
        return False  # a diary is kept; a note is corrected, not removed

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("day", timezone.now().date())
        return initial

    def save_model(self, request, obj, form, change):
        daily_note_write(note=obj, user=request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        for name in MARKDOWN_FIELDS:
            if name in form.base_fields:
                form.base_fields[name].widget.attrs.update(rows=5, cols=80)
        return _with_text_checks(form)

    @admin.display(description="scope")
    def scope(self, obj):
        return " · ".join(part for part in (obj.account, obj.strategy) if part) or "the desk"

    @admin.display(description="plan")
    def plan_summary(self, obj):
        for text in (obj.plan, obj.rules, obj.levels):
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")
            if first:
                return first if len(first) <= 80 else first[:79] + "…"
        return "—"

    @admin.display(description="reviewed", boolean=True)
    def reviewed(self, obj):
        return bool(obj.review.strip())

    @admin.display(description="rules broken")
    def breaks(self, obj):
        return len(obj.rules_broken_list)

    @admin.display(description="the note")
    def rendered(self, obj):
        sections = note_sections(obj)
        if not sections:
            return "—"
        return format_html(
            '<div class="markdown note-rendered">{}</div>',
            format_html_join("", "<h4>{}</h4>{}", sections),
        )

    @admin.display(description="written")
    def written(self, obj):
        return f"{formatting.when(obj.written_at)} by {obj.written_by}"

    @admin.display(description="last changed")
    def updated(self, obj):
        return f"{formatting.when(obj.updated_at)} by {obj.updated_by}"

    def changelist_view(self, request, extra_context=None):
        extra = dict(extra_context or {})
        day_text = request.GET.get("day", "")
        try:
            day = date.fromisoformat(day_text) if day_text else None
        except ValueError:
            day = None  # the changelist answers its own 400 page for the filter
        if day is not None:
            notes = DailyNote.objects.filter(day=day).select_related("updated_by")
            extra.update(
                day=day,
                day_notes=[(note, note_sections(note)) for note in notes],
                day_trades_url=day_trades_url(day),
                week_url=reverse("admin:journal_dailynote_week") + f"?week={day.isoformat()}",
                add_url=reverse("admin:journal_dailynote_add") + f"?day={day.isoformat()}",
            )
        extra.setdefault("week_url", reverse("admin:journal_dailynote_week"))
        return super().changelist_view(request, extra)

    def get_urls(self):
        week = self.admin_site.admin_view(self.week_view)
        return [path("week/", week, name="journal_dailynote_week"), *super().get_urls()]

    def week_view(self, request):
        """The weekly recap (GET ?week=2026-W24 or a day, &account=, &strategy=)."""
        if not (self.has_view_permission(request) and request.user.has_perm("journal.view_trade")):
            raise PermissionDenied
        account = request.GET.get("account", "").strip()[:64]
        strategy = request.GET.get("strategy", "").strip()[:64]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "accounts": trade_distinct_values(field="account"),
            "strategies": trade_distinct_values(field="strategy"),
            "account": account,
            "strategy": strategy,
        }
        try:
            start = week_start(request.GET.get("week", ""), today=timezone.now().date())
        except BadWeek as exc:
            context.update(title="This week cannot be shown", problem=str(exc))
            return TemplateResponse(request, "admin/bad_filter.html", context, status=400)
        recap = week_recap(start=start, account=account, strategy=strategy)
        scope = urlencode({k: v for k, v in (("account", account), ("strategy", strategy)) if v})
        context.update(
            title=f"Week {recap.label}: {recap.start:%d %b} to {recap.end:%d %b %Y}",
            recap=recap,
            tiles=_tiles(recap),
            best=[_trade_row(t, r, recap.currency) for t, r in recap.best],
            worst=[_trade_row(t, r, recap.currency) for t, r in recap.worst],
            notes=[(note, note_sections(note)) for note in recap.notes],
            scope=("&" + scope) if scope else "",
        )
        return TemplateResponse(request, "admin/journal/dailynote/week.html", context)


def _with_text_checks(form_class):
    """The note's form, refusing text the database cannot keep (NUL, lone surrogates)
    or longer than a note holds, on the field at fault."""

    class NoteForm(form_class):
        def _post_clean(self):
            super()._post_clean()
            for name, problem in note_text_problems(self.instance).items():
                if name in self.fields and not self.has_error(name):
                    self.add_error(name, ValidationError(problem))

    return NoteForm


def _tiles(recap) -> list[tuple[str, str, str]]:
    """(label, value, css class) of the week's figures."""
    s = recap.summary
    net = s["net_pnl"]
    pnl_class = "pnl-win" if net > 0 else "pnl-loss" if net < 0 else ""
    expectancy = s.get("expectancy_r")
    # The report's summary gives the mean R of the trades with one; the week's total
    # is that mean times their count.
    r_sum = expectancy * s["r_trades"] if expectancy is not None and s.get("r_trades") else None
    return [
        ("Net P&L", formatting.money(net, recap.currency), pnl_class),
        ("Trades", f"{s['trades']:,} ({s['wins']:,} won, {s['losses']:,} lost)", ""),
        ("Win rate", formatting.percent(s.get("win_rate")), ""),
        (
            "R",
            "—"
            if not s.get("r_trades")
            else f"{formatting.number(r_sum, 2, signed=True)} R over {s['r_trades']:,} trade(s), "
            f"{formatting.number(expectancy, 2, signed=True)} R a trade",
            "",
        ),
    ]


def _trade_row(trade, r_value, currency: str) -> dict:
    return {
        "trade": trade,
        "url": reverse("admin:journal_trade_change", args=[trade.pk]),
        "closed": formatting.when(trade.closed_at),
        "pnl": pnl_text(trade.symbol, trade.pnl),
        "r": "—" if r_value is None else f"{formatting.number(r_value, 2, signed=True)} R",
        "mistakes": getattr(getattr(trade, "review", None), "mistakes", "") or "",
    }
