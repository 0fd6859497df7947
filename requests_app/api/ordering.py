"""Sorting the requests API: `?ordering=` by date, urgency, due time or status."""

from django.db.models import F
from rest_framework.filters import OrderingFilter

from ..models import PRIORITY_RANK

# Name in `?ordering=` -> the expression it sorts by; each sort ends on the primary key so
# that pages never repeat or skip a request that ties with another.
ORDERINGS = {
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "status": F("status"),
    # By urgency: `priority` puts low first, `-priority` urgent first.
    "priority": PRIORITY_RANK,
    # The current resolution clock's due time: soonest first, requests without one last.
    "resolution_due_at": F("resolution_due_at"),
}

NULLABLE = {"resolution_due_at"}


class RequestOrdering(OrderingFilter):
    ordering_fields = list(ORDERINGS)
    ordering_description = (
        "Sort by " + ", ".join(ORDERINGS) + "; a leading '-' reverses. Default: -created_at."
    )

    def get_valid_fields(self, queryset, view, context=None):
        return [(name, name) for name in ORDERINGS]

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view) or ["-created_at"]
        expressions = []
        for term in ordering:
            descending = term.startswith("-")
            expression = ORDERINGS[term.lstrip("-")]
            # Requests without a due time go last either way; NULLS LAST only where there
            # can be nulls, so that the other sorts match their indexes.
            nulls_last = True if term.lstrip("-") in NULLABLE else None
            expressions.append(
                expression.desc(nulls_last=nulls_last)
                if descending
                else expression.asc(nulls_last=nulls_last)
            )
        last = ordering[-1]
        expressions.append(F("pk").desc() if last.startswith("-") else F("pk").asc())
        return queryset.order_by(*expressions)
