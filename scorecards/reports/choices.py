from django.db import models


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel workbook (XLSX)"
    CSV = "csv", "CSV files in a zip"


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (ReportStatus.QUEUED, ReportStatus.RUNNING)


class ReportSource(models.TextChoices):
    PAGE = "page", "Reports page"
    API = "api", "API"
    COMMAND = "command", "Command line"
    SCHEDULE = "schedule", "Automatic, at the close of the quarter"


class DownloadVia(models.TextChoices):
    PAGE = "page", "Browser"
    TOKEN = "token", "API token"


# The kind of the in-app notification that tells HR a report is ready. Not in requests_app's
# NotificationKind choices: that app does not know about scorecards (as surveys does).
NOTIFICATION_REPORT_READY = "report_ready"
