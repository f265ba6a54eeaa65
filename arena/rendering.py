"""Model outputs are untrusted: Markdown to HTML, then an allow-list sanitiser.

markdown-it-py renders (raw HTML in the input is escaped, not passed through: ``html=False``), and
nh3 (ammonia) keeps only the tags and attributes below, links only to http(s)/mailto, and adds
``rel="noopener noreferrer nofollow"`` to links. So ``<script>``, event-handler attributes and
``javascript:`` links never reach the page, whatever the model wrote.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.cache
def _markdown() -> MarkdownIt:
    # "commonmark" plus tables and strikethrough; linkify stays off (it needs an extra package).
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """Safe HTML for one piece of untrusted Markdown."""
    html = _markdown().render(text or "")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow")
