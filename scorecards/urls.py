from django.urls import path

from . import views

app_name = "scorecards"
# The fixed names first: a department slug never shadows a page.
urlpatterns = [
    path("", views.index, name="index"),
    path("matrix/", views.matrix, name="matrix"),
    path("organisation/", views.organisation, name="organisation"),
    path("<slug:slug>/", views.department_scorecard, name="department"),
    path("<slug:slug>/pair/<slug:customer_slug>/", views.pair_scorecard, name="pair"),
]
