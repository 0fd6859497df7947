from django.db import models


class Status(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_ON_REQUESTER = "waiting_on_requester", "Waiting on requester"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
    # The provider found it invalid and said why; the requester may reopen it.
    DECLINED = "declined", "Declined"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER)
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED, Status.CANCELLED, Status.DECLINED)


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    RESOLUTION = "resolution", "Resolution"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    # Handed over by a transfer before it was met or due: the time is kept and attributed,
    # but the clock is not judged met or breached.
    STOPPED = "stopped", "Stopped"


class EventKind(models.TextChoices):
    CREATED = "created", "Filed"
    COMMENTED = "commented", "Commented"
    NOTE_ADDED = "note_added", "Internal note"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    ASSIGNED = "assigned", "Assigned"
    STATUS_CHANGED = "status_changed", "Status changed"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    PROMISED = "promised", "Promised a date"
    TRANSFERRED = "transferred", "Transferred"
    BLOCKED = "blocked", "Blocked by another request"
    UNBLOCKED = "unblocked", "No longer blocked"
    ATTACHED = "attached", "File attached"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACHED = "sla_breached", "SLA breached"
    ESCALATED = "escalated", "Escalated"


class NotificationKind(models.TextChoices):
    REQUEST_FILED = "request_filed", "New request"
    REQUEST_ASSIGNED = "request_assigned", "Assigned to you"
    REQUEST_COMMENTED = "request_commented", "New reply"
    REQUEST_STATUS = "request_status", "Status changed"
    REQUEST_TRANSFERRED = "request_transferred", "Transferred to your department"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACHED = "sla_breached", "SLA breached"
    ESCALATED = "escalated", "Escalated"
    BLOCKER_RESOLVED = "blocker_resolved", "Blocking request resolved"
    # Sent by the surveys app (it may not extend this app's choices itself).
    SURVEY_LOW_RATING = "survey_low_rating", "Low rating"
    # Told on behalf of departments (departments.signals.agreement_notice).
    AGREEMENT = "agreement", "Agreement"
    # Sent by the reviews app (above this one): a review opened, an action due or done.
    REVIEW = "review", "Review"
