from .views import NotificationViewSet, RequestViewSet

routes = [
    ("requests", RequestViewSet, "request"),
    ("notifications", NotificationViewSet, "notification"),
]
