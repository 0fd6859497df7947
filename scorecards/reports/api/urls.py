from .views import ReportViewSet

routes = [("reports", ReportViewSet, "report")]
