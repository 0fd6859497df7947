from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.reports_index, name="index"),
    path("<int:pk>/row/", views.report_row, name="row"),
    path("<int:pk>/download/", views.report_download, name="download"),
]
