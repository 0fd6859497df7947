"""Markdown to HTML that is safe to show to anyone, rendered once when the text is saved.

CommonMark with GitHub's tables and ~~strikethrough~~, by markdown-it-py: its cost grows
with the length of the text and no faster (no backtracking over brackets, emphasis or
tags, the way Python-Markdown took over a minute for `"[" * 19999`), it nests blocks and
inline markup at most `maxNesting` (20) deep, and it pads the missing cells of a table
row at most 65 536 times a text. `make bench` times it on the worst cases
(core.markdown_corpus). A line break in a paragraph is kept as `<br>`, as people type.

The renderer keeps raw HTML and every link as written, and nh3 alone decides what stays,
against a small allowlist: no scripts, no event-handler or style attributes, no images (they
would call out to other servers), links only to http, https and mailto, and every link gets
rel="noopener noreferrer nofollow".

The services (requests_app.lifecycle) store the result beside the text
(`ServiceRequest.description_html`, `Comment.body_html`); pages show the stored HTML
through `stored_html` and never render.
"""

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

_PARSER = MarkdownIt("commonmark", {"breaks": True, "html": True}).enable(
    ["table", "strikethrough"]
)
# Every link is kept for nh3 to judge (URL_SCHEMES): markdown-it's own check would print a
# refused link as its source text, `javascript:...` included, instead of its label.
_PARSER.validateLink = lambda url: True


def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML."""
    html = _PARSER.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


def stored_html(html: str) -> SafeString:
    """HTML that `render_markdown` made and a row stored, ready for a template."""
    return mark_safe(html)  # nosec B308 B703: sanitised by nh3 before it was stored
