from django.urls import path

from . import views

app_name = "requests"
urlpatterns = [
    path("", views.my_requests, name="mine"),
    path("new/", views.request_new, name="new"),
    path("new/services/", views.request_new_services, name="new-services"),
    path("queue/", views.queue, name="queue"),
    path("queue/<slug:slug>/", views.queue, name="queue-department"),
    path("queue/<slug:slug>/assign/", views.queue_assign, name="queue-assign"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/timeline/", views.request_timeline, name="timeline"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/<slug:action>/", views.request_action, name="action"),
]
