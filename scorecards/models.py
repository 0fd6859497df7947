from django.db import models

from departments.models import Department

from .choices import ScoreRole


class ScoreSnapshot(models.Model):
    """The figures of one department, as provider or customer, for one period."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="score_snapshots"
    )
    role = models.CharField(max_length=10, choices=ScoreRole.choices)
    period = models.CharField(max_length=10, help_text="2026-Q3, 2026-09 or 2026-W38.")
    counterpart = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The other side of a provider x customer pair; blank for the whole department.",
    )
    computed_at = models.DateTimeField()
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["department", "role", "period"]
        permissions = [
            ("view_all_scorecards", "Can view the scorecards of every department"),
            ("export_reports", "Can export the quarterly HR reports"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "role", "period", "counterpart"],
                name="score_snapshot_unique_pair",
            ),
            models.UniqueConstraint(
                fields=["department", "role", "period"],
                condition=models.Q(counterpart__isnull=True),
                name="score_snapshot_unique_department",
            ),
        ]

    def __str__(self):
        return f"{self.department.code} {self.role} {self.period}"
