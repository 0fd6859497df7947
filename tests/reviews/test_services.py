"""Writing a review together: sections, actions, confirmation, closing, overdue steps."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from requests_app.models import Notification
from reviews import services
from reviews.choices import ActionState, ReviewState, Trigger
from reviews.models import Review, ReviewAction, ReviewSection
from reviews.rules import reviews_visible_to

from .conftest import at, file

pytestmark = pytest.mark.clock(datetime.datetime(2026, 11, 26, 10, tzinfo=at(0, 0).tzinfo))

DUE = datetime.date(2026, 12, 4)


def add_action(org, review, *, actor=None, owner=None, due_on=DUE):
    return services.review_action_add(
        actor=actor or org.agent,
        review=review,
        title="Keep two spare laptops",
        owner_department=org.provider,
        owner=owner or org.agent,
        due_on=due_on,
    )


def test_each_department_writes_its_own_part(org, review):
    services.review_section_write(
        actor=org.agent,
        review=review,
        department=org.provider,
        what_happened="No laptop in stock",
        factors=["tooling", "capacity"],
    )
    services.review_section_write(
        actor=org.requester, review=review, department=org.customer, went_wrong="We waited"
    )
    sections = {s.department.slug: s for s in ReviewSection.objects.select_related("department")}
    assert sections["it"].what_happened == "No laptop in stock"
    assert sections["it"].factors == ["capacity", "tooling"]  # in the choices' order
    assert sections["sales"].went_wrong == "We waited"


@pytest.mark.parametrize(
    ("role", "department"),
    [("agent", "customer"), ("requester", "provider"), ("colleague", "customer")],
)
def test_nobody_writes_another_departments_part(org, review, role, department):
    with pytest.raises(PermissionDenied):
        services.review_section_write(
            actor=getattr(org, role),
            review=review,
            department=getattr(org, department),
            what_happened="x",
        )
    assert not ReviewSection.objects.exists()


def test_an_unknown_factor_is_refused(org, review):
    with pytest.raises(ValidationError) as error:
        services.review_section_write(
            actor=org.agent, review=review, department=org.provider, factors=["blame"]
        )
    assert "factors" in error.value.message_dict


def test_permission_is_decided_before_the_input(org, review):
    with pytest.raises(PermissionDenied):
        services.review_action_add(
            actor=org.outsider,
            review=review,
            title="",
            owner_department=None,
            owner=None,
            due_on=None,
        )


def test_an_action_is_owned_by_a_member_of_an_involved_department(org, review):
    with pytest.raises(ValidationError) as error:
        services.review_action_add(
            actor=org.agent,
            review=review,
            title="x",
            owner_department=org.other,
            owner=org.outsider,
            due_on=DUE,
        )
    assert "owner_department" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        add_action(org, review, owner=org.requester)  # not of IT
    assert "owner" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        add_action(org, review, due_on=datetime.date(2026, 11, 1))
    assert "due_on" in error.value.message_dict


def test_a_new_action_tells_its_owner(org, review):
    add_action(org, review, actor=org.requester, owner=org.provider_manager)
    assert Notification.objects.filter(user=org.provider_manager, kind="review").count() == 2


def test_dropping_says_why(org, review):
    action = add_action(org, review)
    with pytest.raises(ValidationError):
        services.review_action_settle(actor=org.agent, action=action, state=ActionState.DROPPED)
    dropped = services.review_action_settle(
        actor=org.agent, action=action, state=ActionState.DROPPED, reason="Stock came back"
    )
    assert dropped.state == ActionState.DROPPED
    assert dropped.dropped_reason == "Stock came back"


def test_the_other_side_confirms_a_done_action(org, review):
    action = add_action(org, review)
    with pytest.raises(PermissionDenied):  # Sales does not mark IT's action done
        services.review_action_settle(actor=org.requester, action=action, state=ActionState.DONE)
    services.review_action_settle(actor=org.agent, action=action, state=ActionState.DONE)
    assert Notification.objects.filter(dedupe_key=f"review-action:{action.pk}:done").count() == 2
    with pytest.raises(PermissionDenied):  # IT does not confirm its own
        services.review_action_confirm(actor=org.provider_manager, action=action)
    confirmed = services.review_action_confirm(actor=org.requester, action=action)
    assert confirmed.confirmed_by == org.requester
    with pytest.raises(ValidationError):
        services.review_action_confirm(actor=org.customer_manager, action=action)


def test_a_review_closes_once_every_action_is_settled(org, review):
    action = add_action(org, review)
    with pytest.raises(ValidationError):
        services.review_close(actor=org.provider_manager, review=review)
    services.review_action_settle(actor=org.agent, action=action, state=ActionState.DONE)
    with pytest.raises(PermissionDenied):  # agents do not close
        services.review_close(actor=org.agent, review=review)
    closed = services.review_close(actor=org.customer_manager, review=review)
    assert closed.state == ReviewState.CLOSED
    assert closed.closed_by == org.customer_manager
    with pytest.raises(ValidationError):  # read-only once closed
        services.review_section_write(
            actor=org.agent, review=review, department=org.provider, went_well="x"
        )


def test_managers_open_reviews_by_hand_once_per_trigger(org, service):
    request = file(org, service)
    review, opened = services.review_open_manual(actor=org.customer_manager, requests=[request])
    again, opened_again = services.review_open_manual(
        actor=org.provider_manager, requests=[request]
    )
    assert (opened, opened_again) == (True, False)
    assert again == review
    assert review.trigger == Trigger.MANUAL
    assert review.opened_by == org.customer_manager
    pair, _ = services.review_open_manual(
        actor=org.provider_manager, provider=org.provider, customer=org.customer, period="2026-Q3"
    )
    assert pair.trigger_key == f"pair:{org.provider.pk}:{org.customer.pk}:2026-Q3"
    assert pair.period == "2026-Q3"


@pytest.mark.parametrize("role", ["agent", "requester", "outsider"])
def test_only_managers_open_reviews(org, service, role):
    with pytest.raises(PermissionDenied):
        services.review_open_manual(actor=getattr(org, role), requests=[file(org, service)])
    assert not Review.objects.exists()


def test_a_manager_of_neither_side_opens_no_pair_review(org):
    from departments.choices import Role
    from tests.factories import MembershipFactory, UserFactory

    legal_manager = UserFactory(username="legal_manager")
    MembershipFactory(user=legal_manager, department=org.other, role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        services.review_open_manual(
            actor=legal_manager, provider=org.provider, customer=org.customer, period="2026-Q3"
        )


def test_a_manager_cannot_review_requests_they_cannot_see(org, service):
    hidden = file(org, service, confidential=True)
    with pytest.raises(ValidationError):
        services.review_open_manual(actor=org.customer_manager, requests=[hidden])


def test_a_confidential_requests_review_is_for_those_who_see_the_request(org, service):
    request = file(org, service, confidential=True)
    review, _ = services.review_open_manual(actor=org.provider_manager, requests=[request])
    assert review.confidential
    seeing = {
        role
        for role in ("requester", "customer_manager", "agent", "provider_manager", "hr")
        if reviews_visible_to(getattr(org, role)).filter(pk=review.pk).exists()
    }
    assert seeing == {"requester", "agent", "provider_manager"}
    told = set(Notification.objects.filter(kind="review").values_list("user__username", flat=True))
    assert told == {"requester", "agent"}  # the manager who opened it is not told


def test_overdue_actions_are_told_once_per_step(org, review):
    action = add_action(org, review, due_on=datetime.date(2026, 11, 26))

    def told_on(day):
        moment = datetime.datetime.combine(day, datetime.time(8), tzinfo=at(0, 0).tzinfo)
        return services.review_actions_notify_overdue(now=moment)

    assert told_on(datetime.date(2026, 11, 26)) == 0  # due today
    assert told_on(datetime.date(2026, 11, 27)) == 1  # a day overdue
    assert told_on(datetime.date(2026, 11, 28)) == 0
    assert told_on(datetime.date(2026, 12, 3)) == 1  # seven days
    assert told_on(datetime.date(2026, 12, 3)) == 0
    assert told_on(datetime.date(2026, 12, 30)) == 1  # fourteen and beyond: once
    assert told_on(datetime.date(2027, 1, 30)) == 0
    overdue = Notification.objects.filter(dedupe_key__contains=f"{action.pk}:overdue")
    assert sorted(overdue.values_list("user__username", flat=True)) == [
        "agent",
        "agent",
        "agent",
        "provider_manager",
        "provider_manager",
        "provider_manager",
    ]


def test_a_settled_action_is_not_overdue(org, review):
    action = add_action(org, review, due_on=datetime.date(2026, 11, 26))
    services.review_action_settle(actor=org.agent, action=action, state=ActionState.DONE)
    moment = datetime.datetime(2026, 12, 3, 8, tzinfo=at(0, 0).tzinfo)
    assert services.review_actions_notify_overdue(now=moment) == 0
    assert ReviewAction.objects.get().overdue_notified_step == 0


def test_the_customers_side_is_its_managers_and_requesters(org, review):
    """An agent of Sales (Sales may provide services too) sees no Sales request to IT, so
    takes no part in its review; Sales' manager and the requester do."""
    from departments.choices import Role
    from tests.factories import MembershipFactory, UserFactory

    sales_agent = UserFactory(username="sales_agent")
    MembershipFactory(user=sales_agent, department=org.customer, role=Role.AGENT)
    assert not reviews_visible_to(sales_agent).filter(pk=review.pk).exists()
    assert reviews_visible_to(org.customer_manager).filter(pk=review.pk).exists()
    assert sales_agent not in services.review_participants(review)


def test_a_blocking_department_writes_its_part_of_a_chain(org, service, legal_agent):
    from reviews.choices import Side
    from reviews.models import ReviewDepartment
    from tests.factories import ServiceFactory

    blocker = file(org, ServiceFactory(department=org.other), requester=org.agent)
    top = file(org, service)
    review, _ = services._open(
        services.triggers.Found(
            trigger=Trigger.BLOCKED_CHAIN,
            key=f"chain:{top.pk}",
            title="held up",
            provider_id=org.provider.pk,
            customer_id=org.customer.pk,
            request_ids=[top.pk, blocker.pk],
            blocking_ids={org.other.pk},
        ),
        opened_by=None,
        now=at(3, 9),
    )
    assert ReviewDepartment.objects.get(review=review, department=org.other).side == Side.BLOCKING
    services.review_section_write(
        actor=legal_agent, review=review, department=org.other, what_happened="Backlog"
    )
    # IT's agent filed the blocker for IT: they write IT's part, not Sales'.
    with pytest.raises(PermissionDenied):
        services.review_section_write(
            actor=org.agent, review=review, department=org.customer, what_happened="x"
        )
    told = Notification.objects.filter(kind="review", dedupe_key=f"review:{review.pk}:opened")
    assert legal_agent.pk in set(told.values_list("user_id", flat=True))
    # Told of the review, linked to its page (not to a request some of them may not see).
    assert {(n.request_id, n.get_absolute_url()) for n in told} == {
        (None, review.get_absolute_url())
    }
