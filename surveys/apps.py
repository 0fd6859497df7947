from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self):
        # requests_app must not import surveys: it offers hooks, and surveys registers here.
        from requests_app import services as request_services
        from requests_app import views as request_views

        from . import panels
        from .services import on_request_resolved

        hooks = [
            (request_services.RESOLVED_HOOKS, on_request_resolved),
            (getattr(request_views, "DETAIL_PANELS", None), panels.request_survey_panel),
            (getattr(request_views, "HISTORY_PANELS", None), panels.requester_ratings_panel),
        ]
        for hook_list, hook in hooks:
            if hook_list is not None and hook not in hook_list:
                hook_list.append(hook)
