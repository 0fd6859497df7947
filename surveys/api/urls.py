from .views import RelationshipInvitationViewSet, RequestQualityRatingViewSet, RequestSurveyViewSet

# Longer prefixes first: the router tries patterns in order.
routes = [
    ("surveys/relationship", RelationshipInvitationViewSet, "relationship-invitation"),
    ("surveys/request-ratings", RequestQualityRatingViewSet, "request-quality-rating"),
    ("surveys", RequestSurveyViewSet, "survey"),
]
