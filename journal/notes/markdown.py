"""Markdown rendered safely for the admin's pages.

markdown-it-py parses CommonMark with raw HTML off (``<script>`` is text), tables and
strikethrough on and images off (a note does not load another site's pixels; the
Content-Security-Policy would refuse them anyway). Its links are checked by the
library (no ``javascript:``, ``vbscript:``, ``file:`` or ``data:``). nh3 (Ammonia) then
keeps only the tags and attributes below, with http, https and mailto links that open
without a referrer: whatever a parser bug let through stops there.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

TAGS = {
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
    "a",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}

_parser = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .disable("image")
)


def markdown_html(text: str) -> SafeString:
    """``text`` (Markdown) as HTML that is safe to put in a page as it is."""
    if not text or not text.strip():
        return mark_safe("")
    rendered = _parser.render(text)
    cleaned = nh3.clean(
        rendered,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(cleaned)  # noqa: S308 - escaped by the parser, then sanitised by nh3
