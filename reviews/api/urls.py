from django.urls import path

from .views import ReviewActionViewSet, ReviewRulesView, ReviewViewSet

routes = [
    ("reviews/actions", ReviewActionViewSet, "review-action"),
    ("reviews", ReviewViewSet, "review"),
]
# Not a collection: one department's rules, read and changed in place (POST, as the
# departments' escalation levels).
urlpatterns = [
    path("reviews/rules/<slug:slug>/", ReviewRulesView.as_view(), name="review-rules"),
]
