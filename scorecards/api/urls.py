from .views import ScorecardViewSet

routes = [("scorecards", ScorecardViewSet, "scorecard")]
