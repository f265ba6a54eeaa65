"""Untrusted Markdown becomes safe HTML: the renderer and its template filter."""

from html.parser import HTMLParser

from django.template import Context, Template

from arena.rendering import render_markdown

HOSTILE = [
    "<script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=1">',
    "[click me](javascript:window.pwned=1)",
    '<a href="javascript:alert(1)">raw link</a>',
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
]


class Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML (escaped text is only text)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_hostile_markup_in_outputs_is_neutralised():
    for text in HOSTILE:
        elements = Elements(render_markdown(text)).found
        assert not [tag for tag, _ in elements if tag in {"script", "img", "svg", "iframe"}], text
        assert not [a for _, attrs in elements for a in attrs if a.startswith("on")], text
        assert not [v for _, attrs in elements for v in attrs.values() if v and "javascript" in v.lower()], text


def test_markdown_still_renders_code_lists_tables_and_safe_links():
    html = render_markdown("# Title\n\n- one\n- two\n\n```python\nprint('<b>')\n```\n\n"
                           "| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.com)")
    assert "<h1>Title</h1>" in html and "<li>one</li>" in html and "<table>" in html
    assert "<pre><code>print('&lt;b&gt;')" in html
    assert 'href="https://example.com"' in html and "noopener" in html and "nofollow" in html


def test_the_template_filter_renders_sanitised_markdown():
    template = Template("{% load arena_markdown %}{{ text|markdown }}")
    out = template.render(Context({"text": "**hi** <script>x</script>"}))
    assert "<strong>hi</strong>" in out and "<script>" not in out
