from .views import (
    PulseViewSet,
    RelationshipInvitationViewSet,
    RequestQualityRatingViewSet,
    RequestSurveyViewSet,
)

# Longer prefixes first: the router tries patterns in order.
routes = [
    ("surveys/relationship", RelationshipInvitationViewSet, "relationship-invitation"),
    ("surveys/pulse", PulseViewSet, "pulse"),
    ("surveys/request-ratings", RequestQualityRatingViewSet, "request-quality-rating"),
    ("surveys", RequestSurveyViewSet, "survey"),
]
