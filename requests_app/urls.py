from django.urls import path

from . import views

app_name = "requests"
urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("new/", views.request_new, name="new"),
    path("queue/", views.queue, name="queue"),
    path("queue/<slug:slug>/", views.queue, name="queue-department"),
    path("notifications/", views.notifications, name="notifications"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment"),
]
