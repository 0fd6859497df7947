"""In-app notifications and the emails that go with them.

A `Notification` row is written in the same transaction as the change it reports, and is
also the outbox of its email: the delivery task is enqueued on commit, and beat retries every
pending row each minute, so a broker that is down at commit time delays an email but never
loses it. Each row is claimed with a guarded update before sending, so two workers never
send the same email.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
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


def notify(
    *,
    users,
    kind: NotificationKind,
    message: str,
    dedupe_key: str,
    request: ServiceRequest | None = None,
    exclude=None,
    now=None,
) -> int:
    """Notify each user once per `dedupe_key`; returns how many were new."""
    exclude_ids = {u.pk for u in (exclude or []) if u is not None}
    users = [u for u in users if u is not None and u.pk not in exclude_ids]
    notice = Notice(users=users, kind=kind, message=message, dedupe_key=dedupe_key, request=request)
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
    if notification.request_id:
        url = settings.SITE_URL + reverse("requests:detail", args=[notification.request_id])
        lines += [f"{reference}: {notification.request.title}", url, ""]
    lines.append("You get this because of your role in servicedesk.")
    return subject[:200], "\n".join(lines)


def _still_visible(notification: Notification) -> bool:
    from .selectors import requests_visible_to

    return requests_visible_to(notification.user).filter(pk=notification.request_id).exists()


def notifications_deliver(*, limit: int = 500) -> int:
    """Send the emails of pending notifications; returns how many were sent."""
    sent = 0
    pending = (
        Notification.objects.filter(emailed_at__isnull=True, email_attempts__lt=MAX_EMAIL_ATTEMPTS)
        .select_related("user", "request")
        .order_by("created_at")[:limit]
    )
    for notification in pending:
        # Claim the row: only the worker that changes it sends the email.
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now(), email_attempts=F("email_attempts") + 1
        )
        if claimed != 1:
            continue
        if not notification.user.email:
            continue
        if notification.request_id and not _still_visible(notification):
            continue  # the request moved away from this user since: say nothing about it
        subject, body = _email_for(notification)
        try:
            send_mail(subject, body, None, [notification.user.email])
        except Exception as exc:
            logger.warning("notifications: email %s failed: %s", notification.pk, exc)
            Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
            continue
        sent += 1
    return sent


def notifications_mark_read(*, user, ids=None, now=None) -> int:
    """Mark the user's notifications read: the given ids, or all."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=now or timezone.now())
