"""The request page's timeline: the latest entries, "Show earlier" (htmx, or ?before=
without script) for the ones before, in a number of queries that does not grow with the
replies, and behind the page's own gate. The numbers follow TIMELINE_PAGE_SIZE (written S in
the comments): a timeline of a page and a bit, of several pages, of exactly one."""

import datetime
import re
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains

from core.keyset import Cursor
from requests_app import services
from requests_app.views.detail import TIMELINE_PAGE_SIZE

S = TIMELINE_PAGE_SIZE

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = datetime.datetime(2026, 11, 23, 9, tzinfo=BERLIN)
MINUTE = datetime.timedelta(minutes=1)

pytestmark = pytest.mark.clock(datetime.datetime(2026, 12, 1, 10, tzinfo=BERLIN))

EARLIER_LINK = re.compile(r'hx-get="(/requests/\d+/timeline/\?before=[0-9-]+)"')
PAGE_LINK = re.compile(r'href="(/requests/\d+/\?before=[0-9-]+)#timeline-title"')


def filed(org, service, title="Laptop", **kwargs):
    return services.request_create(
        requester=org.requester,
        service=service,
        title=title,
        description="broken",
        now=MONDAY,
        **kwargs,
    )


def replies(request, author, numbers, *, same_instant=False, internal=False):
    """Replies "Reply <n>", n minutes after Monday 9:00 (or all at 12:00, so that only
    their ids order them)."""
    for n in numbers:
        when = MONDAY + (datetime.timedelta(hours=3) if same_instant else n * MINUTE)
        services.request_comment_add(
            request=request, author=author, body=f"Reply {n}", internal=internal, now=when
        )


def shown(response) -> list[int]:
    """The numbers of the replies a response draws, in its order."""
    return [int(n) for n in re.findall(r"Reply (\d+)</p>", response.content.decode())]


def earlier_link(response) -> str | None:
    found = EARLIER_LINK.search(response.content.decode())
    return found[1] if found else None


def test_it_shows_the_latest_entries_and_a_link_to_the_earlier_ones(client, org, service):
    request = filed(org, service)
    replies(request, org.requester, range(1, S + 11))  # S + 11 events with the filing
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assert shown(response) == list(range(11, S + 11))
    assertNotContains(response, "filed the request")
    link = earlier_link(response)
    assert link is not None
    # The same position for those without script: the page itself, at that position.
    assert PAGE_LINK.search(response.content.decode())[1] == link.replace("timeline/", "")
    assertNotContains(response, "Show the latest")


def test_it_shows_a_short_timeline_whole_without_links(client, org, service):
    request = filed(org, service)
    replies(request, org.requester, range(1, 5))
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    assert shown(response) == [1, 2, 3, 4]
    assertContains(response, "filed the request")
    assert earlier_link(response) is None
    assertNotContains(response, "Show earlier")


def test_it_pages_back_to_the_filing_without_duplicates_or_gaps(client, org, service):
    request = filed(org, service)
    total = 3 * S + 5  # with the filing, three pages and six entries
    replies(request, org.requester, range(1, 3 * S // 2 + 1))
    # The rest at one instant: the id alone orders them, across a page boundary too.
    replies(request, org.agent, range(3 * S // 2 + 1, total + 1), same_instant=True)
    client.force_login(org.agent)

    page = client.get(f"/requests/{request.pk}/")
    pages = [shown(page)]
    link = earlier_link(page)
    fragments = []
    while link is not None:
        fragment = client.get(link, headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        fragments.append(fragment)
        pages.insert(0, shown(fragment))
        link = earlier_link(fragment)

    assert [len(numbers) for numbers in pages] == [5, S, S, S]  # the oldest with the filing
    assert [n for numbers in pages for n in numbers] == list(range(1, total + 1))
    # The boundary between the latest two pages falls among the replies of one instant.
    assert pages[-2][-1] > 3 * S // 2
    assertContains(fragments[-1], "filed the request", count=1)
    assertNotContains(fragments[0], "<html")  # only the entries, for htmx to swap in


def test_it_pages_back_without_script(client, org, service):
    request = filed(org, service)
    oldest_replies = S // 2  # with the filing, a page that is not full
    replies(request, org.requester, range(1, 2 * S + oldest_replies + 1))
    client.force_login(org.requester)

    latest = client.get(f"/requests/{request.pk}/")
    older_url = PAGE_LINK.search(latest.content.decode())[1]
    older = client.get(older_url)
    oldest = client.get(PAGE_LINK.search(older.content.decode())[1])

    assert shown(older) == list(range(oldest_replies + 1, oldest_replies + S + 1))
    assertContains(older, "Show the latest")
    assertContains(older, "<html")  # the whole page, with its clocks and forms
    assertContains(older, 'id="reply-title"')
    assert shown(oldest) == list(range(1, oldest_replies + 1))
    assertContains(oldest, "filed the request")
    assert PAGE_LINK.search(oldest.content.decode()) is None


def test_it_answers_a_position_that_is_none_with_a_400(client, org, service):
    request = filed(org, service)
    client.force_login(org.requester)

    for before in ("yesterday", "1-", "99999999999999999999-1", "1-2-3"):
        assert client.get(f"/requests/{request.pk}/timeline/?before={before}").status_code == 400
        assert client.get(f"/requests/{request.pk}/?before={before}").status_code == 400


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        # Read before the next request: a request clears the connection's query log.
        count = len(queries)
    assert response.status_code == 200
    return count


def test_it_draws_the_page_and_the_earlier_entries_in_queries_that_do_not_grow(
    client, org, service
):
    """The queries of a request of a page and a bit of replies and of one of 200 (issue 16's
    worst case: several pages), for the page and for the entries before it."""
    counts = {}
    for number in (S + 10, 200):
        request = filed(org, service, title=f"{number} replies")
        replies(request, org.requester, range(1, number // 2 + 1))
        replies(request, org.agent, range(number // 2 + 1, number + 1))
        client.force_login(org.agent)
        page = client.get(f"/requests/{request.pk}/")
        counts[number] = (
            queries_of(client, f"/requests/{request.pk}/"),
            queries_of(client, earlier_link(page)),
        )

    assert counts[S + 10] == counts[200]


def test_it_draws_no_query_per_reply(client, org, service):
    """10 replies, a page with the filing and no link, and 200 (pages, a link)."""
    few, many = filed(org, service, title="few"), filed(org, service, title="many")
    replies(few, org.requester, range(1, 11))
    replies(many, org.requester, range(1, 201))
    client.force_login(org.requester)

    assert queries_of(client, f"/requests/{few.pk}/") == queries_of(client, f"/requests/{many.pk}/")


# --- who may read the earlier entries ---------------------------------------------------------


# The replies of `busy`, numbered in turn: with the filing, its public entries are exactly a
# page (the requester's whole timeline), and its notes half a page more for the agents.
REQUESTER_REPLIES = range(1, S - 9)
NOTES = range(REQUESTER_REPLIES.stop, REQUESTER_REPLIES.stop + S // 2)
AGENT_REPLIES = range(NOTES.stop, NOTES.stop + 9)


@pytest.fixture
def busy(org, service):
    """A request of S + S // 2 entries, S // 2 of them internal notes."""
    request = filed(org, service)
    replies(request, org.requester, REQUESTER_REPLIES)
    replies(request, org.agent, NOTES, internal=True)
    replies(request, org.agent, AGENT_REPLIES)
    return request


def fragment_before_latest(client, request, user):
    """The entries before the latest page, as `user` would reach them."""
    client.force_login(user)
    link = earlier_link(client.get(f"/requests/{request.pk}/"))
    return client.get(link) if link else None


def test_it_shows_internal_notes_only_to_the_provider_department(client, org, busy):
    agent = fragment_before_latest(client, busy, org.agent)
    requester = fragment_before_latest(client, busy, org.requester)

    assert shown(agent) == list(range(1, len(NOTES)))  # and the filing: the notes' number
    assertContains(agent, "filed the request")
    assert requester is None  # S public entries: one page, nothing earlier
    client.force_login(org.requester)
    page = client.get(f"/requests/{busy.pk}/")
    assert shown(page) == [*REQUESTER_REPLIES, *AGENT_REPLIES]
    assertNotContains(page, "Internal note")


def test_it_reads_any_position_through_the_viewers_rules(client, org, busy):
    """Entries before an agent's reply after the notes: an agent's are the page before it,
    notes included, the requester's are the public ones, whoever's link the position came
    from."""
    number = AGENT_REPLIES[4]
    reply = busy.comments.get(body=f"Reply {number}")
    position = Cursor.of(busy.events.get(data__comment=reply.pk))
    url = f"/requests/{busy.pk}/timeline/?before={position}"

    client.force_login(org.agent)
    agent = client.get(url)
    client.force_login(org.requester)
    requester = client.get(url)

    assert shown(agent) == list(range(number - S, number))
    assertContains(agent, "Internal note", count=len(NOTES))
    assert earlier_link(agent) is not None
    assert shown(requester) == [*REQUESTER_REPLIES, *range(AGENT_REPLIES.start, number)]
    assertContains(requester, "filed the request")
    assertNotContains(requester, "Internal note")
    assertNotContains(requester, "added an internal note")
    assert earlier_link(requester) is None


@pytest.mark.parametrize("confidential", [False, True], ids=["normal", "confidential"])
def test_it_answers_the_earlier_entries_as_the_page_to_each_role(
    client, org, service, confidential
):
    request = filed(org, service, confidential=confidential)
    replies(request, org.requester, range(1, S + 11))
    url = f"/requests/{request.pk}/timeline/?before={MONDAY.timestamp():.0f}000000-999999"
    sees = {"requester", "agent", "provider_manager"} | (
        set() if confidential else {"customer_manager"}
    )

    for role in ("requester", "agent", "provider_manager", "customer_manager", "colleague"):
        user = getattr(org, role)
        client.force_login(user)
        page = client.get(f"/requests/{request.pk}/")
        fragment = client.get(url)
        expected = 200 if role in sees else 404
        assert (role, page.status_code, fragment.status_code) == (role, expected, expected)
    client.force_login(org.outsider)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def test_it_draws_each_entry_escaped_with_its_files(client, org, service):
    org.requester.first_name, org.requester.last_name = "<b>Eve</b>", ""
    org.requester.save()
    request = filed(org, service)
    services.request_comment_add(
        request=request,
        author=org.requester,
        body="See <script>x</script> the file",
        files=[SimpleUploadedFile("<i>scan</i>.pdf", PDF, content_type="application/pdf")],
        now=MONDAY + MINUTE,
    )
    services.request_attachments_add(
        request=request,
        actor=org.agent,
        files=[SimpleUploadedFile("alone.pdf", PDF, content_type="application/pdf")],
        now=MONDAY + 2 * MINUTE,
    )
    client.force_login(org.requester)

    response = client.get(f"/requests/{request.pk}/")

    html = response.content.decode()
    assert "<b>Eve</b>" not in html
    assertContains(response, "&lt;b&gt;Eve&lt;/b&gt;</strong>")
    assert "<script>x" not in html
    reply_file, alone = request.attachments.order_by("pk")
    assertContains(response, f'/requests/{request.pk}/attachments/{reply_file.pk}/"', count=2)
    assertContains(response, f'{reply_file.pk}/">i&gt;.pdf</a>', count=2)  # a safe name
    # The file attached alone has its entry, with a download link; the reply's has none.
    assertContains(
        response,
        f'· <a href="/requests/{request.pk}/attachments/{alone.pk}/">download</a>',
        count=1,
    )
