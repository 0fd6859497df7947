from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_mine, name="mine"),
    path("open/", views.review_open, name="open"),
    path("rules/<slug:slug>/", views.review_rules, name="rules"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/section/<slug:slug>/", views.review_section, name="section"),
    path("<int:pk>/actions/", views.review_action_add, name="action-add"),
    path("<int:pk>/close/", views.review_close, name="close"),
    path(
        "<int:pk>/actions/<int:action_pk>/<slug:verb>/",
        views.review_action_change,
        name="action-change",
    ),
]
