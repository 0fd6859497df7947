"""Your notifications."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ..notifications import notifications_mark_read
from ..selectors import (
    notifications_for,
)

NOTIFICATIONS_PAGE_SIZE = 25
MAX_NOTIFICATION_PAGE = 10_000


@dataclass
class UncountedPage:
    """A page for `partials/pagination.html` that knows whether there is a next page, not
    how many there are (no `paginator`)."""

    object_list: list
    number: int
    has_next: bool
    paginator = None

    def __iter__(self):
        return iter(self.object_list)

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


# --- notifications -------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request):
    """The viewer's notifications, newest first; opening a request reads its ones.

    Paged without a total: counting every notification the viewer can still see (through
    the visibility rule) grows with their history and took most of the page's time; one row
    more than a page tells whether there is an older page.
    """
    try:
        number = max(1, min(int(request.GET.get("page", 1)), MAX_NOTIFICATION_PAGE))
    except ValueError:
        number = 1
    start = (number - 1) * NOTIFICATIONS_PAGE_SIZE
    rows = list(notifications_for(user=request.user)[start : start + NOTIFICATIONS_PAGE_SIZE + 1])
    page = UncountedPage(
        rows[:NOTIFICATIONS_PAGE_SIZE], number, len(rows) > NOTIFICATIONS_PAGE_SIZE
    )
    return render(request, "requests/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    """Mark every notification of the viewer read."""
    count = notifications_mark_read(user=request.user)
    plural = "notification" if count == 1 else "notifications"
    messages.success(request, f"Marked {count} {plural} read.")
    return redirect("requests:notifications")
