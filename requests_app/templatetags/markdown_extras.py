"""`{{ text|markdown }}`: Markdown rendered to HTML that is safe to show to anyone
(core.markdown.render_markdown)."""

from django import template
from django.utils.safestring import mark_safe

from core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text):
    # Safe because nh3 has removed everything outside the allowlist.
    html = render_markdown(text)
    return mark_safe(html)  # sanitised by nh3  # nosec B308 B703
