from django.urls import path

from . import views

app_name = "departments"
urlpatterns = [
    path("", views.department_directory, name="directory"),
    path("<slug:slug>/", views.department_detail, name="detail"),
    path("<slug:slug>/escalation/", views.department_escalation, name="escalation"),
    path("<slug:slug>/agreements/new/", views.agreement_propose, name="agreement-propose"),
    path("<slug:slug>/agreements/<int:pk>/", views.agreement_detail, name="agreement"),
    path(
        "<slug:slug>/agreements/<int:pk>/<slug:action>/",
        views.agreement_decide,
        name="agreement-decide",
    ),
]
