"""core.keyset: positions in the (created_at, id) order, and the page before one."""

import datetime

import pytest

from core.keyset import Cursor, page_before
from requests_app import services
from requests_app.models import RequestEvent

AT = datetime.datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=datetime.UTC)


def test_it_writes_a_position_it_reads_back_to_the_microsecond():
    cursor = Cursor(created_at=AT, pk=42)

    assert str(cursor) == "1795420800123456-42"
    assert Cursor.parse(str(cursor)) == cursor
    assert Cursor.parse("") is None
    assert Cursor.parse(None) is None


@pytest.mark.parametrize(
    "text", ["42", "-42", "1-", "a-1", "1-2-3", " 1-2", "1-2 ", "99999999999999999999-1"]
)
def test_it_refuses_text_that_names_no_position(text):
    with pytest.raises(ValueError, match="Not a position"):
        Cursor.parse(text)


def test_it_pages_back_through_ties_one_row_each(org, service):
    request = services.request_create(
        requester=org.requester, service=service, title="t", description="d", now=AT
    )
    request.events.all().delete()
    moments = [AT, AT, AT + datetime.timedelta(seconds=1), AT, AT + datetime.timedelta(seconds=1)]
    for moment in moments:
        RequestEvent.objects.create(
            request=request,
            kind="commented",
            created_at=moment,
            department=org.provider,
            data={},
        )
    ordered = list(request.events.order_by("created_at", "pk"))

    pages, cursor = [], None
    while True:
        rows, cursor = page_before(request.events.all(), cursor, size=2)
        pages.insert(0, rows)
        if cursor is None:
            break

    assert [len(rows) for rows in pages] == [1, 2, 2]
    assert [row for rows in pages for row in rows] == ordered
    assert page_before(request.events.all(), Cursor.of(ordered[0]), size=2) == ([], None)
