from django import template
from django.utils.safestring import SafeString, mark_safe

from ..rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> SafeString:
    """Sanitised HTML of untrusted Markdown (see ``arena.rendering``)."""
    return mark_safe(render_markdown(text))  # safe: sanitised by nh3 just above
