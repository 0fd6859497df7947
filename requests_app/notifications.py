"""In-app notifications and the emails that go with them.

A `Notification` row is written in the same transaction as the change it reports, and is
also the outbox of its email: the delivery task is enqueued on commit, and beat retries every
pending row each minute, so a broker that is down at commit time delays an email but never
loses it.

Each email is claimed before it is sent, with a guarded update that only one delivery can
win: the claim holds for a lease (`settings.NOTIFICATION_EMAIL_LEASE`, longer than a
delivery task may run) and counts an attempt. `emailed_at` is set only once the mail server
has taken the email, by the holder of the claim; a failed send gives the claim back at once
for the next minute's retry; after `MAX_EMAIL_ATTEMPTS` claims the email is given up. A
worker that dies between its claim and the end of its send (killed, out of memory, its
machine lost) leaves a claim that runs out: the first delivery after the lease sends the
email, once.

What that guarantees: each email is sent at least once (within its attempts) and, short of
a crash, exactly once. It goes twice only if the mail server took it and the worker died
before `emailed_at` was written (no transaction spans a database and a mail server), or if
a send outlived its lease (a worker frozen, or clocks of two hosts apart by more than the
lease's spare): then the late holder finds its claim taken over, logs it, and still records
the email as sent, so it goes no third time.
"""

import logging
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .choices import NotificationKind
from .models import Notification, ServiceRequest

logger = logging.getLogger(__name__)

MAX_EMAIL_ATTEMPTS = 5
ENQUEUE_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}


@dataclass
class Notice:
    """One thing to tell some users, once per `dedupe_key` each."""

    users: list
    kind: NotificationKind
    message: str
    dedupe_key: str
    request: ServiceRequest | None = None
    link: str = ""  # without a request: the path where it is handled


def notify(
    *,
    users,
    kind: NotificationKind,
    message: str,
    dedupe_key: str,
    request: ServiceRequest | None = None,
    link: str = "",
    exclude=None,
    now=None,
) -> int:
    """Notify each user once per `dedupe_key`; returns how many were new."""
    exclude_ids = {u.pk for u in (exclude or []) if u is not None}
    users = [u for u in users if u is not None and u.pk not in exclude_ids]
    notice = Notice(
        users=users,
        kind=kind,
        message=message,
        dedupe_key=dedupe_key,
        request=request,
        link=link,
    )
    return notify_many([notice], now=now)


def notify_many(notices: list[Notice], *, now=None) -> int:
    """Write several notices in one go (two queries); returns how many rows were new."""
    now = now or timezone.now()
    wanted = {}
    for notice in notices:
        for user in notice.users:
            if user is not None:
                wanted.setdefault((user.pk, notice.dedupe_key), notice)
    if not wanted:
        return 0
    existing = set(
        Notification.objects.filter(
            user_id__in={user_id for user_id, _ in wanted},
            dedupe_key__in={key for _, key in wanted},
        ).values_list("user_id", "dedupe_key")
    )
    rows = [
        Notification(
            user_id=user_id,
            request=notice.request,
            kind=notice.kind,
            message=notice.message[:300],
            link=notice.link,
            dedupe_key=dedupe_key,
            created_at=now,
        )
        for (user_id, dedupe_key), notice in wanted.items()
        if (user_id, dedupe_key) not in existing
    ]
    # ignore_conflicts: a concurrent writer of the same key wins, and nobody hears twice.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if rows and not _delivery_pending():
        transaction.on_commit(enqueue_delivery)
    return len(rows)


def _delivery_pending() -> bool:
    """Is a delivery already enqueued for the commit of this transaction?

    One delivery sends every pending email, so a transaction that notifies many times (a
    bulk assign, a demo history replayed through the services) enqueues it once, not once
    per notification. A callback of a savepoint that is rolled back leaves the list with it,
    so what is listed is still due.
    """
    return any(callback is enqueue_delivery for _, callback, _ in connection.run_on_commit)


def enqueue_delivery() -> None:
    """Ask a worker to send pending emails; if the broker is down, beat's retry sends them."""
    from .tasks import deliver_notifications

    try:
        # Runs on commit, inside the web request: a short, bounded retry instead of Celery's
        # default policy, so a dead broker costs the user well under a second, not several.
        deliver_notifications.apply_async(retry=True, retry_policy=ENQUEUE_RETRY_POLICY)
    except Exception as exc:  # the broker being down must not fail the user's request
        logger.warning("notifications: could not enqueue delivery (%s); beat will retry", exc)


def _email_for(notification: Notification) -> tuple[str, str]:
    reference = notification.request.reference if notification.request_id else ""
    subject = f"[servicedesk] {reference + ': ' if reference else ''}{notification.message}"
    lines = [notification.message, ""]
    url = notification.get_absolute_url()
    if notification.request_id:
        lines += [f"{reference}: {notification.request.title}", settings.SITE_URL + url, ""]
    elif url:
        lines += [settings.SITE_URL + url, ""]
    lines.append("You get this because of your role in servicedesk.")
    return subject[:200], "\n".join(lines)


def _still_visible(notification: Notification) -> bool:
    from .selectors import requests_visible_to

    return requests_visible_to(notification.user).filter(pk=notification.request_id).exists()


def _email_pending(now) -> Q:
    """Not emailed, not given up, and claimed by no delivery whose lease still holds."""
    return Q(emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS) & (
        Q(email_claimed_until__isnull=True) | Q(email_claimed_until__lte=now)
    )


def _email_claim(notification: Notification):
    """Claim one notification's email for a lease; returns the lease's end, None if taken."""
    now = timezone.now()
    lease = now + settings.NOTIFICATION_EMAIL_LEASE
    # Two deliveries at once: the second UPDATE waits for the first's row lock, then finds
    # the row claimed and changes nothing. The lease's end is this claim's mark.
    claimed = Notification.objects.filter(_email_pending(now), pk=notification.pk).update(
        email_claimed_until=lease, email_attempts=F("email_attempts") + 1
    )
    return lease if claimed == 1 else None


def _email_settle(notification: Notification, lease) -> None:
    """Record the claimed email as done (sent, or needing none) and drop the claim."""
    done_at = timezone.now()
    mine = Notification.objects.filter(
        pk=notification.pk, email_claimed_until=lease, emailed_at__isnull=True
    )
    if mine.update(emailed_at=done_at, email_claimed_until=None) == 1:
        return
    # The lease ran out during the send and another delivery claimed the email: it may send
    # it too. Recorded anyway, so that a failure of that one does not make a third.
    logger.warning(
        "notifications: email %s outlived its claim; another delivery may send it too",
        notification.pk,
    )
    Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=done_at, email_claimed_until=None
    )


def _email_release(notification: Notification, lease) -> None:
    """Give a claimed email back for the next delivery (the attempt stays counted)."""
    Notification.objects.filter(pk=notification.pk, email_claimed_until=lease).update(
        email_claimed_until=None
    )


def notifications_deliver(*, limit: int = 500) -> int:
    """Send the emails of pending notifications; returns how many were sent."""
    sent = 0
    pending = (
        Notification.objects.filter(_email_pending(timezone.now()))
        .select_related("user", "request")
        .order_by("created_at", "pk")[:limit]
    )
    for notification in pending:
        lease = _email_claim(notification)
        if lease is None:
            continue  # another delivery holds it, or has sent it since the list was read
        no_email = not notification.user.email
        # The request moved away from this user since: say nothing about it.
        if no_email or (notification.request_id and not _still_visible(notification)):
            _email_settle(notification, lease)
            continue
        subject, body = _email_for(notification)
        try:
            send_mail(subject, body, None, [notification.user.email])
        except SoftTimeLimitExceeded:
            # The task has run out of time and is killed at its hard limit: give this email
            # back and stop, rather than start sends that the kill would cut.
            _email_release(notification, lease)
            raise
        except Exception as exc:
            logger.warning("notifications: email %s failed: %s", notification.pk, exc)
            _email_release(notification, lease)
            continue
        _email_settle(notification, lease)
        sent += 1
    return sent


def notifications_mark_read(*, user, ids=None, now=None) -> int:
    """Mark the user's notifications read: the given ids, or all."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=now or timezone.now())


def agreement_notice_write(sender, *, agreement, notice, now, **kwargs) -> None:
    """departments.signals.agreement_notice: the in-app notifications (and their emails) of
    an agreement's step, to the users departments.agreements.notice_for chose."""
    notify(
        users=notice.users,
        kind=NotificationKind.AGREEMENT,
        message=notice.message,
        dedupe_key=notice.dedupe_key,
        link=agreement.get_absolute_url(),
        now=now,
    )
