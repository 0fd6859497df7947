"""One review from its trigger to its close, in the browser of each side, and the review page
on a phone."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from core.periods import company_zone
from requests_app import services as request_services
from reviews import tasks
from reviews.choices import ActionState, ReviewState, Trigger
from reviews.models import Review, ReviewAction, ReviewSection

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def late_request(org, service):
    """Sales' request to IT filed on Monday of last week and resolved on the Thursday: three
    business days for a target of eight hours, well past the breach rule's 50%."""
    now = datetime.datetime.now(datetime.UTC).astimezone(company_zone())
    monday = (now - datetime.timedelta(days=7 + now.weekday())).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    with time_machine.travel(monday, tick=False):
        request = request_services.request_create(
            requester=org.requester,
            service=service,
            title="Laptop for the new colleague",
            description="Starts on Monday.",
        )
    with time_machine.travel(monday + datetime.timedelta(days=3), tick=False):
        request_services.request_transition(request=request, actor=org.agent, action="resolve")
    return request


def part_of(page, department: str):
    return page.locator("section").filter(
        has=page.get_by_role("heading", name=f"{department}'s part")
    )


def open_the_review(visitor, user, title):
    page = visitor.log_in(user)
    visitor.follow(page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My reviews")
    visitor.follow(page.get_by_role("link", name=title))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    return page


def write_part(visitor, department, *, happened, factor):
    page = visitor.page
    part = part_of(page, department)
    part.get_by_label("What happened").fill(happened)
    part.get_by_label("What went well").fill("Once picked up, it was quick.")
    part.get_by_label("What went wrong").fill("It waited too long before anyone saw it.")
    part.get_by_label("Contributing factors", exact=True).fill("A busy week, a thin rota.")
    part.get_by_label(factor).check()
    visitor.follow(part.get_by_role("button", name=f"Save {department}'s part"))
    expect(page.locator(".messages")).to_contain_text(f"{department}'s part is saved.")
    expect(part_of(page, department)).to_contain_text(happened)


def test_a_late_request_is_reviewed_by_both_sides_until_closed(browse, org, service):
    request = late_request(org, service)
    # Beat's task opens the review the breach rule calls for.
    assert tasks.open_due_reviews() == 1
    review = Review.objects.get()
    assert (review.trigger, review.state) == (Trigger.BREACH, ReviewState.OPEN)
    assert list(review.requests.all()) == [request]
    title = review.title

    # IT's agent writes IT's part and adds an action that is theirs.
    agent = browse("agent")
    page = open_the_review(agent, org.agent, title)
    expect(page.locator(".notice")).to_contain_text("nobody is named as a cause")
    expect(part_of(page, "Sales")).to_contain_text("Not written yet.")
    agent.snap("review")
    write_part(agent, "IT", happened="It sat in the queue for two days.", factor="Capacity")
    due = timezone.localdate(timezone=company_zone()) + datetime.timedelta(days=7)
    page.get_by_label("What will change").fill("Name a stand-in for the queue")
    page.get_by_label("Owner").select_option(f"{org.provider.pk}:{org.agent.pk}")
    page.get_by_label("Due").fill(due.isoformat())
    agent.follow(page.get_by_role("button", name="Add the action"))
    expect(page.locator(".messages")).to_contain_text("The action is added.")
    agent.snap("action-added")

    # Sales' manager writes Sales' part (not IT's).
    customer = browse("customer-manager")
    page = open_the_review(customer, org.customer_manager, title)
    expect(part_of(page, "IT")).to_contain_text("It sat in the queue for two days.")
    expect(part_of(page, "IT").get_by_role("button")).to_have_count(0)
    write_part(
        customer,
        "Sales",
        happened="We did not say that the colleague started on Monday.",
        factor="Requester input",
    )
    expect(page.get_by_role("button", name="Confirm it is done")).to_have_count(0)
    customer.snap("sales-part")
    assert set(ReviewSection.objects.values_list("department__slug", "updated_by__username")) == {
        ("it", "agent"),
        ("sales", "customer_manager"),
    }

    # The agent marks the action done; Sales confirms it.
    page = agent.goto(f"/reviews/{review.pk}/")
    agent.follow(page.get_by_role("button", name="Done", exact=True))
    expect(page.locator(".links")).to_contain_text("Done")
    agent.snap("action-done")
    page = customer.goto(f"/reviews/{review.pk}/")
    customer.follow(page.get_by_role("button", name="Confirm it is done"))
    expect(page.locator(".links")).to_contain_text("confirmed by")
    customer.snap("action-confirmed")
    action = ReviewAction.objects.get()
    assert (action.state, action.owner, action.confirmed_by) == (
        ActionState.DONE,
        org.agent,
        org.customer_manager,
    )

    # IT's manager closes the review; it is read-only then.
    manager = browse("provider-manager")
    page = open_the_review(manager, org.provider_manager, title)
    manager.follow(page.get_by_role("button", name="Close the review"))
    expect(page.locator(".messages")).to_contain_text("The review is closed.")
    expect(page.get_by_role("button", name=re.compile("Save|Add the action|Close"))).to_have_count(
        0
    )
    manager.snap("closed")
    review.refresh_from_db()
    assert (review.state, review.closed_by) == (ReviewState.CLOSED, org.provider_manager)

    # On a phone the review page fits its width: no horizontal scroll.
    page = agent.page
    page.set_viewport_size(PHONE)
    agent.goto(f"/reviews/{review.pk}/")
    agent.snap("phone")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == PHONE["width"], widths
