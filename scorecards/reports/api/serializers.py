from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import ReportFormat, ReportStatus
from ..models import QuarterlyReport, ReportDownload


class ReportRequestSerializer(serializers.Serializer):
    """What HR gives to have a report made."""

    quarter = serializers.RegexField(
        r"^\d{4}-Q[1-4]$",
        max_length=7,
        help_text="Like 2026-Q3.",
        error_messages={"invalid": "Write the quarter like 2026-Q3."},
    )
    format = serializers.ChoiceField(choices=ReportFormat.values, default=ReportFormat.XLSX)
    force = serializers.BooleanField(
        default=False, help_text="Make a new report even if one of this quarter is stored."
    )


class ReportDownloadSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportDownload
        fields = ["username", "downloaded_at", "via"]
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    """A report as the API shows it (output only)."""

    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    status = serializers.ChoiceField(choices=ReportStatus.values, read_only=True)
    download_url = serializers.SerializerMethodField()
    downloads = ReportDownloadSerializer(many=True, read_only=True)

    class Meta:
        model = QuarterlyReport
        fields = [
            "id",
            "quarter",
            "format",
            "status",
            "progress",
            "source",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "methodology_version",
            "figures_computed_at",
            "sha256",
            "size",
            "error",
            "download_url",
            "downloads",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, report) -> str | None:
        """The HR download link (page URL; accepts the session or an API token)."""
        if report.status != ReportStatus.DONE:
            return None
        url = reverse("reports:download", args=[report.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url
