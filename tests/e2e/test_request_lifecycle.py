"""A request from filing to the requester's rating, in the browser of each person."""

import re

import pytest
from playwright.sync_api import expect

from requests_app.choices import Status
from requests_app.models import ServiceRequest
from surveys.models import SurveyResponse

pytestmark = pytest.mark.e2e

SURVEY_LINK = re.compile(r"https?://[^/\s]+(/surveys/t/[A-Za-z0-9_-]+/)")


def test_it_files_works_resolves_and_rates_a_request(browse, org, service, mailoutbox, settings):
    # A member of Sales files a request with IT.
    requester = browse("requester")
    page = requester.log_in(org.requester)
    requester.snap("home")
    requester.follow(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="New request")
    )
    expect(page).to_have_url(re.compile(r"/requests/new/$"))
    # Picking a department makes htmx swap the service <select> (all services, grouped by
    # department) for one with that department's services only.
    expect(page.locator("#id_service optgroup")).not_to_have_count(0)
    with page.expect_response(re.compile(r"/requests/new/services/")):
        page.get_by_label("Department").select_option(label="IT")
    expect(page.locator("#id_service optgroup")).to_have_count(0)
    page.get_by_label("Service").select_option(label="Laptop")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("Title").fill("My laptop does not start")
    page.get_by_label("Description").fill("Since this morning: **black screen**.")
    requester.snap("new-request")
    requester.follow(page.get_by_role("button", name="File the request"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My laptop does not start")
    expect(page.locator(".status")).to_have_text("New")
    expect(page.locator(".messages")).to_contain_text("is filed with IT")
    requester.snap("filed")
    filed = ServiceRequest.objects.get(title="My laptop does not start")
    assert (filed.requester, filed.provider_department, filed.priority) == (
        org.requester,
        org.provider,
        "high",
    )
    request_path = f"/requests/{filed.pk}/"

    # An agent of IT finds it in the queue and acknowledges it.
    agent = browse("agent")
    page = agent.log_in(org.agent)
    agent.follow(page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue"))
    expect(page).to_have_url(re.compile(r"/requests/queue/it/"))
    agent.snap("queue")
    agent.follow(page.get_by_role("link", name=re.compile("My laptop does not start")))
    expect(page).to_have_url(re.compile(f"{request_path}$"))
    agent.snap("request")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".messages")).to_contain_text("Acknowledged")
    expect(page.locator(".timeline")).to_contain_text("acknowledged the request")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    agent.snap("acknowledged")

    # ... asks the requester a question, which pauses the resolution clock ...
    wait = page.locator("details").filter(has_text="Wait on requester…")
    wait.get_by_text("Wait on requester…").click()
    wait.get_by_label("Comment").fill("Which model is it?")
    wait.get_by_role("button", name="Wait on requester").click()
    expect(page.locator(".status")).to_have_text("Waiting on requester")
    expect(page.locator(".clock").filter(has_text="Resolution")).to_contain_text("Paused")
    agent.snap("waiting")

    # The requester sees that IT waits on her.
    page = requester.goto(request_path)
    expect(page.locator(".notice")).to_contain_text("IT is waiting on you")
    expect(page.locator(".timeline")).to_contain_text("Which model is it?")
    requester.snap("waited-on")

    # The agent resumes and resolves it.
    page = agent.page
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".status")).to_have_text("In progress")
    agent.snap("resumed")
    resolve = page.locator("details").filter(has_text="Resolve…")
    resolve.get_by_text("Resolve…").click()
    resolve.get_by_label("Comment").fill("Replaced the power supply.")
    resolve.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator(".status")).to_have_text("Resolved")
    expect(page.locator(".timeline")).to_contain_text("Replaced the power supply.")
    agent.snap("resolved")
    filed.refresh_from_db()
    assert filed.status == Status.RESOLVED
    assert filed.first_responded_at is not None

    # The requester answers the survey from the link in her email, without logging in.
    (email,) = [m for m in mailoutbox if org.requester.email in m.to and "/surveys/t/" in m.body]
    link = SURVEY_LINK.search(email.body)
    assert link, email.body
    assert link.group(0).startswith(settings.SITE_URL)
    reader = browse("requester-email")
    page = reader.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("How did IT do?")
    reader.snap("survey")
    reader.follow(page.get_by_role("button", name="4: Good"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you! Anything more to say?")
    reader.snap("survey-details")
    page.get_by_role("group", name="Attitude").get_by_text("5", exact=True).click()
    page.get_by_role("group", name="Timeliness").get_by_text("3", exact=True).click()
    page.get_by_label("Anything else?").fill("Quick and friendly.")
    reader.follow(page.get_by_role("button", name="Save"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    reader.snap("survey-thanks")

    response = SurveyResponse.objects.get(survey__request=filed)
    assert (response.overall, response.attitude, response.timeliness, response.comment) == (
        4,
        5,
        3,
        "Quick and friendly.",
    )
