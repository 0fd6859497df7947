import django_filters

from .choices import ReportFormat, ReportStatus
from .models import QuarterlyReport


class ReportFilterSet(django_filters.FilterSet):
    """?quarter=2026-Q3&file_format=xlsx&status=done

    `file_format`, not `format`: DRF reads ?format= to pick the response's renderer.
    """

    quarter = django_filters.CharFilter()
    file_format = django_filters.ChoiceFilter(field_name="format", choices=ReportFormat.choices)
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices)

    class Meta:
        model = QuarterlyReport
        fields = ["quarter", "file_format", "status"]
