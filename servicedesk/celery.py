"""The Celery app: configured from Django settings (CELERY_*), tasks found in every app."""

import logging.config
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

app = Celery("servicedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender, **kwargs):
    """The filesystem transport expects its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


@signals.setup_logging.connect
def _log_like_django(**kwargs):
    """Worker and beat log through Django's LOGGING (JSON in production), not Celery's own.

    With a receiver on this signal Celery leaves the root logger alone, so task logs get
    the same format and fields as the web's, plus the task's id and name.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
