from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self):
        # requests_app does not import surveys: surveys answers its signals.
        from requests_app import signals

        from . import panels
        from .services import on_request_resolved

        signals.request_resolved.connect(on_request_resolved, dispatch_uid="surveys_resolved")
        signals.request_page_panels.connect(panels.panels_for, dispatch_uid="surveys_panels")
