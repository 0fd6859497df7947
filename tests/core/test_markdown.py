"""core.markdown.render_markdown: ordinary Markdown renders; whatever the text, the output
holds only allowlisted tags and attributes and safe links. The worst cases are the bench's
(core.markdown_corpus); their timings live in `make bench`, not here."""

from html.parser import HTMLParser

import pytest

from core.limits import TEXT_MAX_LENGTH
from core.markdown import ALLOWED_TAGS, LINK_REL, URL_SCHEMES, render_markdown
from core.markdown_corpus import CASES

ALLOWED = {"a": {"href", "title", "rel"}}


class Markup(HTMLParser):
    """Every tag and attribute of a piece of HTML, and the text inside <script> or <style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.closed: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.closed.append(tag)


def markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser


def unsafe_parts(html: str) -> list[str]:
    """What in `html` is outside the allowlist: tags, attributes, link schemes."""
    found = []
    parsed = markup(html)
    for tag in {tag for tag, _attrs in parsed.tags} | set(parsed.closed):
        if tag not in ALLOWED_TAGS:
            found.append(f"<{tag}>")
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            if name not in ALLOWED.get(tag, set()):
                found.append(f"<{tag} {name}={value!r}>")
        if tag == "a":
            href = attrs.get("href")
            if href is not None and href.split(":", 1)[0].lower() not in URL_SCHEMES:
                found.append(f"<a href={href!r}>")
            if attrs.get("rel") != LINK_REL:
                found.append(f"<a rel={attrs.get('rel')!r}>")
    return found


def test_the_corpus_is_as_long_as_a_text_may_be():
    assert CASES
    assert {len(text) for text in CASES.values()} == {TEXT_MAX_LENGTH}


@pytest.mark.parametrize("name", list(CASES))
def test_it_sanitises_every_worst_case(name):
    html = render_markdown(CASES[name])

    assert unsafe_parts(html) == []
    assert "<script" not in html.lower()


def test_the_check_finds_what_is_not_allowed():
    html = (
        '<p onclick="x">a</p><img src="x"><a href="javascript:y" rel="noopener noreferrer '
        'nofollow">b</a><a href="https://x">c</a><script>z</script>'
    )

    assert sorted(unsafe_parts(html)) == sorted(
        [
            "<img>",
            "<img src='x'>",
            "<script>",
            "<p onclick='x'>",
            "<a href='javascript:y'>",
            "<a rel=None>",
        ]
    )


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("<script>alert(1)</script>hello", ["<script", "alert(1)"]),
        ('<img src="x" onerror="alert(1)">', ["onerror", "<img"]),
        ('<a href="#" onclick="steal()">x</a>', ["onclick", "steal"]),
        ("[click](javascript:alert(1))", ["javascript:"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "JaVaScRiPt"]),
        ('<p style="background:url(x)">x</p>', ["style="]),
        ("<iframe src='https://evil.example'></iframe>", ["<iframe"]),
    ],
)
def test_it_sanitises_markdown(text, forbidden):
    html = render_markdown(text)

    for fragment in forbidden:
        assert fragment not in html


def test_it_renders_markdown_with_safe_links():
    html = render_markdown("**Hi** see [the wiki](https://wiki.example/x)\n\n- one\n- two")

    assert "<strong>Hi</strong>" in html
    assert (
        '<a href="https://wiki.example/x" rel="noopener noreferrer nofollow">the wiki</a>' in html
    )
    assert "<li>one</li>" in html


def test_it_renders_ordinary_markdown():
    html = render_markdown(
        "# Printer\n\n"
        "It *stopped* after the **update**, see <https://status.example/>.\n"
        "Second line of the paragraph.\n\n"
        "1. switch off\n2. switch on\n\n"
        "> it says `E42`\n\n"
        "```\nlpstat -t\n```\n\n"
        "| floor | room |\n|---|---|\n| 2 | 214 |\n\n"
        "~~fixed~~ <b>still</b> broken"
    )

    assert "<h1>Printer</h1>" in html
    assert "<em>stopped</em>" in html
    assert "<strong>update</strong>" in html
    assert (
        '<a href="https://status.example/" rel="noopener noreferrer nofollow">'
        "https://status.example/</a>"
    ) in html
    assert "<br>\nSecond line" in html
    assert "<ol>\n<li>switch off</li>\n<li>switch on</li>\n</ol>" in html
    assert "<blockquote>\n<p>it says <code>E42</code></p>\n</blockquote>" in html
    assert "<pre><code>lpstat -t\n</code></pre>" in html
    assert "<th>floor</th>" in html
    assert "<td>214</td>" in html
    assert "<s>fixed</s> <b>still</b> broken" in html
    assert unsafe_parts(html) == []


def test_a_link_to_another_scheme_keeps_its_label_and_loses_its_address():
    html = render_markdown("[open](javascript:alert(1)) [file](file:///etc/passwd)")

    assert html == (
        '<p><a rel="noopener noreferrer nofollow">open</a> '
        '<a rel="noopener noreferrer nofollow">file</a></p>\n'
    )


def test_nothing_renders_to_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
