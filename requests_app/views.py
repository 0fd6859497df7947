"""Pages for requests: thin views over the selectors and services."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from .selectors import attachments_visible_to, requests_visible_to


def _visible_or_404(user, pk):
    request = requests_visible_to(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such request.")
    return request


@login_required
def attachment_download(request, pk, attachment_pk):
    """Files only through here: visibility checked, always sent as a download."""
    service_request = _visible_or_404(request.user, pk)
    attachment = (
        attachments_visible_to(user=request.user, request=service_request)
        .filter(pk=attachment_pk)
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def my_requests(request):
    raise Http404  # replaced by the pages


request_new = queue = notifications = request_detail = my_requests
