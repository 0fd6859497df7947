"""The HR Reports page: thin views over the selectors and services.

Only HR (permission scorecards.export_reports) sees anything here; everybody else gets 404,
as if the pages did not exist. The download view is the only way to a report file: it
checks the permission, records the download, and sends the file as an attachment.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from . import services
from .choices import DownloadVia, ReportFormat, ReportSource, ReportStatus
from .forms import ReportRequestForm
from .models import QuarterlyReport
from .selectors import report_list, user_can_export_reports

LIST_LIMIT = 50
CONTENT_TYPES = {
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.CSV: "application/zip",
}


def hr_only(view):
    """Logged in, with the export permission; others get 404 (the page does not exist)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not user_can_export_reports(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


@never_cache
@hr_only
@require_http_methods(["GET", "POST"])
def reports_index(request):
    """Pick a quarter and a format to generate; the stored reports, their progress and
    downloads."""
    now = timezone.now()
    form = ReportRequestForm(request.POST or None, now=now)
    if request.method == "POST" and form.is_valid():
        try:
            report, created = services.report_request(
                quarter=form.cleaned_data["quarter"],
                format=form.cleaned_data["format"],
                user=request.user,
                force=form.cleaned_data["force"],
                source=ReportSource.PAGE,
                now=now,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            label = f"{report.quarter} ({report.get_format_display()})"
            if created:
                messages.success(request, f"The report for {label} is being generated.")
            elif report.status == ReportStatus.DONE:
                messages.info(
                    request,
                    f"A report for {label} is already stored: download it below, or tick "
                    "'generate again' for a new one.",
                )
            else:
                messages.info(request, f"The report for {label} is already being generated.")
            return redirect("reports:index")
    return render(
        request,
        "scorecards/reports/index.html",
        {"form": form, "reports": report_list()[:LIST_LIMIT]},
        status=400 if form.errors else 200,
    )


@never_cache
@hr_only
@require_GET
def report_row(request, pk):
    """One report's rows in the list: polled by htmx every 2 s while it runs."""
    report = get_object_or_404(report_list(), pk=pk)
    return render(request, "scorecards/reports/partials/report_rows.html", {"report": report})


def _user_of(request):
    """The session's user, or the owner of an API token (so the API's download link works
    with the token too); None for nobody."""
    if request.user.is_authenticated:
        return request.user, DownloadVia.PAGE
    authenticated = TokenAuthentication().authenticate(request)
    if authenticated is None:
        return None, None
    return authenticated[0], DownloadVia.TOKEN


@never_cache
@require_GET
def report_download(request, pk):
    """The stored file, to HR only; each download is recorded."""
    try:
        user, via = _user_of(request)
    except AuthenticationFailed:
        return HttpResponse("Invalid token.", status=401, content_type="text/plain")
    if user is None:
        return redirect_to_login(request.get_full_path())
    if not user_can_export_reports(user):
        raise Http404("No such report.")
    report = (
        QuarterlyReport.objects.filter(pk=pk, status=ReportStatus.DONE).exclude(file="").first()
    )
    if report is None:
        raise Http404("No such report, or it is not ready.")
    try:
        handle = report.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The report's file is missing.") from exc
    services.report_download_record(report=report, user=user, via=via)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=report.filename,
        content_type=CONTENT_TYPES[report.format],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Report-SHA256"] = report.sha256
    return response
