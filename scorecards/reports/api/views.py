"""The reports API: HR asks for a quarter's report, follows its progress, downloads it."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from ..choices import ReportSource, ReportStatus
from ..filtersets import ReportFilterSet
from ..selectors import report_list, user_can_export_reports
from ..services import report_request
from .serializers import ReportRequestSerializer, ReportSerializer


class CanExportReports(BasePermission):
    """HR only; anybody else logged in gets 404, as if the resource did not exist."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False  # 401 with WWW-Authenticate
        if not user_can_export_reports(request.user):
            raise NotFound()
        return True


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """HR quarterly reports. `POST` queues one (201 with a new job; 200 with the stored
    report, or 202 with the job already running, unless `force`); `GET {id}` gives its
    status, progress (0-100), methodology version, sha256, size and download link."""

    serializer_class = ReportSerializer
    permission_classes = [CanExportReports]
    filterset_class = ReportFilterSet
    ordering_fields = ["requested_at", "quarter"]
    ordering = ["-requested_at", "-id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return report_list()

    @extend_schema(
        request=ReportRequestSerializer,
        responses={
            201: OpenApiResponse(ReportSerializer, description="A new job was queued."),
            200: OpenApiResponse(ReportSerializer, description="The stored report."),
            202: OpenApiResponse(ReportSerializer, description="Already being generated."),
        },
    )
    def create(self, request):
        data = ReportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, created = report_request(
            quarter=data.validated_data["quarter"],
            format=data.validated_data["format"],
            user=request.user,
            force=data.validated_data["force"],
            source=ReportSource.API,
        )
        if created:
            code = status.HTTP_201_CREATED
        elif report.status == ReportStatus.DONE:
            code = status.HTTP_200_OK
        else:
            code = status.HTTP_202_ACCEPTED
        fresh = self.get_queryset().get(pk=report.pk)
        body = self.get_serializer(fresh).data
        location = request.build_absolute_uri(reverse("report-detail", args=[fresh.pk]))
        return Response(body, status=code, headers={"Location": location})
