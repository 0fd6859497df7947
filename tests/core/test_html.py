"""core.html.html_format: format_html's output, for hot cells."""

import pytest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from core.html import html_format

VALUES = [
    "plain",
    "<script>alert('x')</script>",
    'a "quoted" & <tagged> value',
    mark_safe("<b>kept</b>"),
    gettext_lazy("Breached"),
    42,
    None,
    3.5,
]


@pytest.mark.parametrize("value", VALUES)
def test_it_escapes_as_format_html_does(value):
    template = '<td title="{}">{}</td>'

    ours = html_format(template, value, value)

    assert ours == format_html(template, value, value)
    assert isinstance(ours, SafeString)


def test_it_escapes_named_arguments_and_not_the_template():
    ours = html_format('<a href="{url}">{text}</a>', url="/x?a=1&b=2", text="<i>")
    assert ours == '<a href="/x?a=1&amp;b=2">&lt;i&gt;</a>'
