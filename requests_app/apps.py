from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Requests"

    def ready(self):
        from departments.signals import agreement_notice

        from .notifications import agreement_notice_write

        # Departments decide who hears of an agreement's steps; the notifications are here.
        agreement_notice.connect(agreement_notice_write, dispatch_uid="agreement_notice_write")
