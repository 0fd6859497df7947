"""`manage.py rebuild_clocks [--request ID ...] [--batch 1000]`

Recomputes the cached fields of every SLA clock, current and retired, from the request's
events with `services.clocks_recompute`, so the cache can be checked and repaired at any
time. Each clock keeps the target and the calendar version copied when it started: editing
targets or working hours later changes nothing here.

Requests are read in primary-key batches, each in its own transaction with the batch's rows
locked as the services lock them, so memory stays flat and no action interleaves with a
rebuild. "Now" is taken after the lock, so every committed event is included. It only matters
for clocks still running: their used time is brought up to now, which counts as a change once
business time has passed since they were last computed.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from requests_app.clocks import REFRESHED_FIELDS
from requests_app.models import ServiceRequest, SLAClock
from requests_app.services import clocks_recompute

# `computed_at` says when the cache was written, not what it holds: not a change on its own.
COMPARED_FIELDS = [f for f in REFRESHED_FIELDS if f != "computed_at"]


class Command(BaseCommand):
    help = "Recompute every SLA clock (current and retired) from the requests' events."

    def add_arguments(self, parser):
        parser.add_argument(
            "--request",
            dest="request_ids",
            type=int,
            nargs="+",
            action="extend",
            metavar="ID",
            help="Only these requests (ids); default: all.",
        )
        parser.add_argument(
            "--batch", type=int, default=1000, help="Requests per transaction (default 1000)."
        )

    def handle(self, *args, request_ids=None, batch=1000, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        requests = ServiceRequest.objects.order_by("pk")
        if request_ids:
            wanted = set(request_ids)
            missing = wanted - set(requests.filter(pk__in=wanted).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No request with id {', '.join(map(str, sorted(missing)))}.")
            requests = requests.filter(pk__in=wanted)

        total_requests = total_clocks = changed = 0
        last_pk = 0
        while True:
            # Keyset pagination: each batch is one bounded query, however many rows follow.
            ids = list(requests.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch])
            if not ids:
                break
            last_pk = ids[-1]
            clocks, batch_changed = self._rebuild_batch(ids)
            total_requests += len(ids)
            total_clocks += clocks
            changed += batch_changed

        self.stdout.write(
            f"Recomputed {total_clocks} clocks of {total_requests} requests: {changed} changed."
        )

    def _rebuild_batch(self, ids: list[int]) -> tuple[int, int]:
        with transaction.atomic():
            locked = list(
                ServiceRequest.objects.select_for_update(no_key=True)
                .filter(pk__in=ids)
                .order_by("pk")
            )
            now = timezone.now()
            before = {
                row["pk"]: row
                for row in SLAClock.objects.filter(request_id__in=ids).values(
                    "pk", *COMPARED_FIELDS
                )
            }
            clocks = changed = 0
            for request in locked:
                for clock in clocks_recompute(request, now=now, current_only=False):
                    clocks += 1
                    old = before[clock.pk]
                    if any(getattr(clock, field) != old[field] for field in COMPARED_FIELDS):
                        changed += 1
        return clocks, changed
