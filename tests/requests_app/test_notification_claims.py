"""The claim on a notification's email: it holds for a lease, so the email of a worker that
died between its claim and its send is sent by a later delivery, once, and two deliveries
never both send it.

A worker dies here as `WorkerDied` out of `send_mail`: an exception that the delivery does
not catch (a BaseException), so nothing of it runs after that point, as in a killed process.
tests/faults/test_worker_killed.py kills a real worker at that point.
"""

import datetime
import logging
import zoneinfo

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import mail

from requests_app import notifications, services
from requests_app.models import Notification
from requests_app.notifications import MAX_EMAIL_ATTEMPTS, notifications_deliver

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
SECOND = datetime.timedelta(seconds=1)

pytestmark = pytest.mark.clock(NOW)


class WorkerDied(BaseException):
    """The process ran no further: no handler of the delivery sees it."""


def file(org, service):
    """A request filed: one notification, to IT's agent, not emailed yet."""
    services.request_create(
        requester=org.requester, service=service, title="New laptop", description="broken"
    )
    return Notification.objects.get()


def dies_before_sending(*args, **kwargs):
    raise WorkerDied


def deliver_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return notifications_deliver()


def test_it_sends_the_email_of_a_worker_that_died_after_its_claim_once_the_lease_ran_out(
    org, service, monkeypatch
):
    notification = file(org, service)
    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", dies_before_sending)
        with pytest.raises(WorkerDied):
            notifications_deliver()
    lease_end = NOW + settings.NOTIFICATION_EMAIL_LEASE

    # Its claim holds: nobody else sends it meanwhile (the worker might still be sending).
    assert notifications_deliver() == 0
    assert deliver_at(lease_end - SECOND) == 0
    assert mail.outbox == []

    # The lease ran out: the next delivery sends it, and no delivery after that.
    assert deliver_at(lease_end) == 1
    assert deliver_at(lease_end + SECOND) == 0
    assert deliver_at(lease_end + 2 * settings.NOTIFICATION_EMAIL_LEASE) == 0
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]
    notification.refresh_from_db()
    assert notification.emailed_at == lease_end
    assert notification.email_claimed_until is None
    assert notification.email_attempts == 2


def test_two_deliveries_after_the_lease_send_the_email_of_a_dead_worker_once(
    org, service, monkeypatch
):
    file(org, service)
    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", dies_before_sending)
        with pytest.raises(WorkerDied):
            notifications_deliver()
    claim = notifications._email_claim
    rivals, rival_runs = [], []

    def claim_after_a_rival(notification):
        # Both deliveries have read the email as pending; the rival claims and sends first.
        if not rivals:
            rivals.append(True)
            rival_runs.append(notifications_deliver())
        return claim(notification)

    monkeypatch.setattr(notifications, "_email_claim", claim_after_a_rival)

    assert deliver_at(NOW + settings.NOTIFICATION_EMAIL_LEASE) == 0

    assert rival_runs == [1]
    assert [m.to for m in mail.outbox] == [["agent@example.com"]]


def test_it_does_not_take_over_a_slow_send_while_its_lease_holds(org, service, monkeypatch):
    notification = file(org, service)
    send_mail = notifications.send_mail
    rivals, rival_runs = [], []

    def slow_send(*args, **kwargs):
        # Another delivery runs a second before this send's lease runs out.
        if not rivals:
            rivals.append(True)
            rival_runs.append(deliver_at(NOW + settings.NOTIFICATION_EMAIL_LEASE - SECOND))
        return send_mail(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", slow_send)

    assert notifications_deliver() == 1

    assert rival_runs == [0]
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_claimed_until) == (NOW, None)
    assert notification.email_attempts == 1


def test_a_send_that_outlives_its_lease_goes_twice_and_is_recorded_once(
    org, service, monkeypatch, caplog
):
    """The limit of the guarantee, at least once: a send longer than the lease (which the
    task time limit forbids) is taken over. The late sender still records it as sent."""
    notification = file(org, service)
    send_mail = notifications.send_mail
    after_lease = NOW + settings.NOTIFICATION_EMAIL_LEASE
    rivals, rival_runs = [], []

    def send_outliving_the_lease(*args, **kwargs):
        if not rivals:
            rivals.append(True)
            rival_runs.append(deliver_at(after_lease))
        return send_mail(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_mail", send_outliving_the_lease)
    with caplog.at_level(logging.WARNING, logger="requests_app.notifications"):
        assert notifications_deliver() == 1

    assert rival_runs == [1]
    assert len(mail.outbox) == 2
    assert f"email {notification.pk} outlived its claim" in caplog.text
    notification.refresh_from_db()
    assert notification.emailed_at == after_lease  # the rival's record stands
    assert notification.email_claimed_until is None
    monkeypatch.undo()
    assert deliver_at(after_lease + 2 * settings.NOTIFICATION_EMAIL_LEASE) == 0
    assert len(mail.outbox) == 2


def test_it_sends_again_an_email_whose_worker_died_before_recording_it(org, service, monkeypatch):
    """No transaction spans the database and the mail server: a worker that dies after the
    server took the email and before `emailed_at` is written leaves it to be sent again."""
    notification = file(org, service)
    send_mail = notifications.send_mail

    def dies_after_sending(*args, **kwargs):
        send_mail(*args, **kwargs)
        raise WorkerDied

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", dies_after_sending)
        with pytest.raises(WorkerDied):
            notifications_deliver()
    assert notifications_deliver() == 0

    assert deliver_at(NOW + settings.NOTIFICATION_EMAIL_LEASE) == 1
    assert len(mail.outbox) == 2
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_failed_send_gives_the_claim_back_and_counts_the_attempt(org, service, monkeypatch):
    notification = file(org, service)

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", refused)
        assert notifications_deliver() == 0
    notification.refresh_from_db()
    assert (notification.emailed_at, notification.email_claimed_until) == (None, None)
    assert notification.email_attempts == 1

    # No lease to wait for: the next delivery (beat's, a minute later) sends it.
    assert deliver_at(NOW + datetime.timedelta(minutes=1)) == 1
    notification.refresh_from_db()
    assert notification.email_attempts == 2
    assert len(mail.outbox) == 1


def test_it_stops_at_the_soft_time_limit_and_gives_the_email_back(org, service, monkeypatch):
    for minutes_ago, title in ((2, "one"), (1, "two")):
        services.request_create(
            requester=org.requester,
            service=service,
            title=title,
            description="broken",
            now=NOW - datetime.timedelta(minutes=minutes_ago),
        )

    def out_of_time(*args, **kwargs):
        raise SoftTimeLimitExceeded

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "send_mail", out_of_time)
        with pytest.raises(SoftTimeLimitExceeded):
            notifications_deliver()

    # The one under way is given back at once; the next was not begun.
    rows = Notification.objects.order_by("created_at")
    assert list(rows.values_list("email_claimed_until", "email_attempts")) == [(None, 1), (None, 0)]
    assert deliver_at(NOW + datetime.timedelta(minutes=1)) == 2
    assert len(mail.outbox) == 2


def test_it_gives_up_an_email_whose_worker_dies_every_time(org, service, monkeypatch):
    notification = file(org, service)
    lease = settings.NOTIFICATION_EMAIL_LEASE
    monkeypatch.setattr(notifications, "send_mail", dies_before_sending)
    for attempt in range(MAX_EMAIL_ATTEMPTS):
        with time_machine.travel(NOW + attempt * lease, tick=False), pytest.raises(WorkerDied):
            notifications_deliver()
    notification.refresh_from_db()
    assert notification.email_attempts == MAX_EMAIL_ATTEMPTS

    monkeypatch.undo()
    assert deliver_at(NOW + MAX_EMAIL_ATTEMPTS * lease) == 0
    assert deliver_at(NOW + 2 * MAX_EMAIL_ATTEMPTS * lease) == 0
    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert notification.email_attempts == MAX_EMAIL_ATTEMPTS


def test_the_lease_outlasts_the_delivery_task_and_every_step_of_a_send():
    # A claim is taken inside a running task, which the worker kills at its time limit.
    assert settings.NOTIFICATION_EMAIL_LEASE.total_seconds() > settings.CELERY_TASK_TIME_LIMIT
    # A send of a dozen SMTP steps, each waiting at most EMAIL_TIMEOUT, ends well within it.
    assert settings.EMAIL_TIMEOUT is not None
    assert settings.NOTIFICATION_EMAIL_LEASE.total_seconds() > 12 * settings.EMAIL_TIMEOUT
