"""The API under /api/v1/: each app's routes are registered on the router here, and the few
endpoints that are not collections (an app's `urlpatterns`) added beside them."""

from rest_framework.routers import DefaultRouter

from departments.api.views import AgreementViewSet, DepartmentViewSet, ServiceViewSet
from requests_app.api.urls import routes as request_routes
from reviews.api.urls import routes as review_routes
from reviews.api.urls import urlpatterns as review_urlpatterns
from scorecards.api.urls import routes as scorecard_routes
from scorecards.reports.api.urls import routes as report_routes
from surveys.api.urls import routes as survey_routes

router = DefaultRouter()
router.register("departments", DepartmentViewSet, basename="department")
router.register("services", ServiceViewSet, basename="service")
router.register("agreements", AgreementViewSet, basename="agreement")
for prefix, viewset, basename in [
    *request_routes,
    *survey_routes,
    *review_routes,
    *report_routes,
    *scorecard_routes,
]:
    router.register(prefix, viewset, basename=basename)

urlpatterns = [*router.urls, *review_urlpatterns]
