"""Pages for requests: thin views over the selectors and services, one module per concern
(filing, the request page, its actions, the lists, notifications).

Every request is fetched through `requests_visible_to` (others' requests answer 404), every
write is a POST that calls a service; who may act is asked of the workflow before the form
is read; the services' ValidationErrors go back onto the form (or into a message), their
PermissionDenied becomes a 403 page. A successful POST redirects, or for htmx answers with
the part of the page it changed.
"""

from .actions import ACTIONS, request_action
from .common import with_live_clocks
from .detail import attachment_download, request_detail, request_timeline
from .filing import request_new, request_new_services
from .lists import my_requests, queue, queue_assign
from .notifications import notifications, notifications_read

__all__ = [
    "ACTIONS",
    "attachment_download",
    "my_requests",
    "notifications",
    "notifications_read",
    "queue",
    "queue_assign",
    "request_action",
    "request_detail",
    "request_new",
    "request_new_services",
    "request_timeline",
    "with_live_clocks",
]
