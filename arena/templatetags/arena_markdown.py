"""``{% load arena_markdown %}{{ text|markdown }}``: untrusted Markdown as sanitised HTML."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> SafeString:
    return mark_safe(render_markdown(str(text or "")))  # noqa: S308 - sanitised by nh3 just above
