from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """HR quarterly reports: an app of its own below scorecards, whose snapshots it reads."""

    name = "scorecards.reports"
    label = "reports"
    verbose_name = "HR reports"
