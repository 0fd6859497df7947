from .views import ReviewActionViewSet, ReviewViewSet

routes = [
    ("reviews/actions", ReviewActionViewSet, "review-action"),
    ("reviews", ReviewViewSet, "review"),
]
