"""The API router under /api/v1/: each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from departments.api.views import DepartmentViewSet, ServiceViewSet

router = DefaultRouter()
router.register("departments", DepartmentViewSet, basename="department")
router.register("services", ServiceViewSet, basename="service")
