from django.urls import path

from . import views

app_name = "surveys"
urlpatterns = [
    path("", views.my_surveys, name="mine"),
    path("request/<int:request_pk>/", views.request_survey, name="request"),
    path("request/<int:request_pk>/details/", views.request_survey_details, name="request-details"),
    path("request/<int:request_pk>/quality/", views.request_quality, name="request-quality"),
    path("quarterly/<int:pk>/", views.relationship_survey, name="relationship"),
    path("t/<str:token>/", views.token_survey, name="token"),
    path("thanks/", views.thanks, name="thanks"),
    path("results/", views.results, name="results"),
    path("results/<slug:slug>/", views.results_department, name="results-department"),
]
