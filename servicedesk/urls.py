from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import views
from .api import docs
from .api.urls import urlpatterns as api_urlpatterns

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("departments/", include("departments.urls")),
    path("requests/", include("requests_app.urls")),
    path("surveys/", include("surveys.urls")),
    path("reviews/", include("reviews.urls")),
    path("scorecards/", include("scorecards.urls")),
    path("reports/", include("scorecards.reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs.swagger_ui, name="api-docs"),
    path("api/redoc/", docs.redoc, name="api-redoc"),
]

handler400 = "servicedesk.views.bad_request"
