from django.urls import path

from . import views

app_name = "departments"
urlpatterns = [
    path("", views.department_directory, name="directory"),
    path("<slug:slug>/", views.department_detail, name="detail"),
]
