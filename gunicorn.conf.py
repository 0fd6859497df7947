"""gunicorn's own settings (read from the working folder): its log lines in the app's format.

Without this, gunicorn's startup, error and access lines would be plain text among the
app's JSON lines. The access line carries the response's X-Request-ID, which the app's
own log lines of that request carry as `request_id`.
"""

import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING["loggers"],
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
