"""The trade page's chain: prediction → idea → decisions → trade → review, each linked.

A trade names its idea (idea_id), the idea its prediction (prediction_id); each step
that is missing says why, so a person walking back from a trade sees where the trail
ends (no idea, an idea without a prediction, a prediction that was not recorded).
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

from backoffice.core import extensions
from backoffice.core.admin_links import linked
from journal.admin.support import admin_change_url, nearby_desk_links, review_of
from journal.models import ReviewStatus, Trade
from journal.selectors import trade_desk_links


def chain_html(trade: Trade) -> str:
    found = trade_desk_links(trade=trade)
    if not found["ideas"]:
        reason = (
            "no trade idea: the trade carries no idea_id"
            if trade.idea_id is None
            else f"idea #{trade.idea_id} is not in the desk's records"
        )
        nearby = format_html_join(
            ", ", '<a href="{}">{}</a>', nearby_desk_links(trade)
        ) or format_html("{}", "—")
        return format_html(
            '<ol class="chain" id="trade-chain"><li class="chain-missing">{}</li></ol>'
            '<p class="chain-nearby">Nearby: {}</p>',
            reason,
            nearby,
        )
    idea = found["ideas"][0]
    steps = [
        ("prediction", _prediction_step(idea, found["predictions"])),
        ("idea", _link(idea, str(idea))),
        ("decisions", _decisions_step(found["decisions"])),
        ("trade", _trade_step(trade)),
        ("review", _review_step(trade)),
    ]
    return format_html(
        '<ol class="chain" id="trade-chain">{}</ol>',
        format_html_join(
            "",
            '<li class="chain-step" data-step="{}"><span class="chain-label">{}</span> {}</li>',
            ((name, name, html) for name, html in steps),
        ),
    )


def _link(record, text: str) -> str:
    return linked(admin_change_url(record), text)


def _prediction_step(idea, predictions: list) -> str:
    if not idea.prediction_id:
        return format_html('<span class="chain-missing">{}</span>', "the idea names no prediction")
    found = predictions[0] if predictions else idea.prediction_id
    if isinstance(found, str):
        return format_html(
            '{} <span class="chain-missing">{}</span>',
            found,
            "(not recorded: left out by the sampling, past the retention, or not written "
            "while the database was down)",
        )
    record = found.record
    output = "—" if found.output is None else f"{float(found.output):.4f}"
    return format_html(
        "{} by {}: {} at {} UTC",
        extensions.prediction_link(record, found.row),
        extensions.version_link(record),
        output,
        f"{record.requested_at:%Y-%m-%d %H:%M:%S}",
    )


def _decisions_step(decisions: list) -> str:
    if not decisions:
        return format_html('<span class="chain-missing">{}</span>', "none")
    return format_html_join(
        " → ",
        "{}",
        (
            (
                linked(
                    admin_change_url(d),
                    f"{d.occurred_at:%Y-%m-%d %H:%M:%S} {d.get_action_display()} by {d.actor}",
                    css="chain-decision",
                ),
            )
            for d in decisions
        ),
    )


def _trade_step(trade: Trade) -> str:
    outcome = "open" if trade.pnl is None else f"P&L {trade.pnl:,.2f}"
    return format_html("{} ({}, {})", trade.trade_id, trade.get_status_display(), outcome)


def _review_step(trade: Trade) -> str:
    review = review_of(trade)
    status = review.status if review else ReviewStatus.UNREVIEWED
    return format_html(
        '<span class="review-{}">{}</span> (history below)', status, ReviewStatus(status).label
    )
