"""Untrusted text (model outputs, prompts, judge rationales) as safe HTML: Markdown through
markdown-it-py with raw HTML off, then nh3's allow-list sanitiser as a second wall."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {"p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3",
         "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del"}


def render_markdown(text: str) -> str:
    html = _MARKDOWN.render(text or "")
    return nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"},
                     link_rel="nofollow noopener noreferrer")
