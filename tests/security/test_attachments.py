"""Attachments: fetching files past the permission check, and uploading hostile files.

Attacks covered: guessing a media URL to download someone's file without the visibility
check (MEDIA_URL is not served and stored names are random, with no trace of the uploaded
name); a file that runs in the browser when opened (downloads are attachments, nosniff,
sandboxed); and uploads that are too big or not what they claim (an .exe renamed .pdf, an
HTML page named .png, a large zip), through every way in, refused with a clear message and
nothing stored, neither a row nor a file.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from requests_app.models import Attachment, ServiceRequest

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
ZIP_OF_ZEROS = b"PK\x03\x04" + b"\x00" * 4096  # bigger than the limit set below
STORED_NAME = re.compile(r"^attachments/\d+/[0-9a-f]{32}$")

HOSTILE = {
    "exe renamed pdf": ("invoice.pdf", EXE, "invoice.pdf does not look like a .pdf file."),
    "html named png": ("photo.png", HTML, "photo.png does not look like a .png file."),
    "html": ("page.html", HTML, "page.html: this type of file cannot be attached"),
    "svg": ("logo.svg", b"<svg onload='alert(1)'/>", "logo.svg: this type of file cannot"),
    "large zip": ("backup.docx", ZIP_OF_ZEROS, "backup.docx is 4.0\xa0KB; files can be at most"),
    "empty": ("empty.txt", b"", "is empty."),
}


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- no way around the download view -------------------------------------------------------


def test_it_routes_nothing_under_media_url():
    for prefix in {settings.MEDIA_URL or "/media/", "/media/", "/var/media/"}:
        path = prefix if prefix.startswith("/") else f"/{prefix}"
        with pytest.raises(Resolver404):
            resolve(f"{path}attachments/1/0123456789abcdef0123456789abcdef")


@pytest.mark.parametrize("who", ["requester", "agent", "outsider", None])
def test_a_stored_file_is_not_served_at_any_guessable_url(client, world, who):
    if who:
        client.force_login(getattr(world.org, who))
    for attachment in (world.public_attachment, world.internal_attachment):
        name = attachment.file.name
        for url in (f"/media/{name}", f"/{name}", f"/var/media/{name}", f"/static/../{name}"):
            response = client.get(url)
            assert response.status_code in (302, 404), url
            assert b"serial 123" not in b"".join(getattr(response, "streaming_content", [b""]))


def test_it_stores_files_under_random_names_that_keep_nothing_of_the_upload(world):
    request = world.requests["sales_to_it"]
    requester = api(world.org.requester)
    for _ in range(2):
        response = requester.post(
            f"/api/v1/requests/{request.pk}/attachments/",
            {"file": SimpleUploadedFile("../../settings.txt", b"x = 1")},
            format="multipart",
        )
        assert response.status_code == 201

    names = list(Attachment.objects.values_list("file", flat=True))
    assert len(names) == 4
    assert all(STORED_NAME.match(name) for name in names), names
    assert len(set(names)) == 4
    uploaded = Attachment.objects.filter(size=5).values_list("original_name", flat=True)
    assert list(uploaded) == ["settings.txt", "settings.txt"]
    attachment_files = [path for path in stored_files() if "attachments" in path.parts]
    assert len(attachment_files) == 4
    assert not any("settings" in str(path) or ".." in str(path) for path in attachment_files)


def test_a_file_that_would_run_in_a_browser_is_sent_as_an_inert_download(client, world):
    request = world.requests["sales_to_it"]
    api(world.org.requester).post(
        f"/api/v1/requests/{request.pk}/attachments/",
        {"file": SimpleUploadedFile("notes.txt", HTML)},
        format="multipart",
    )
    attachment = Attachment.objects.get(request=request, original_name="notes.txt", size=len(HTML))
    client.force_login(world.org.agent)

    response = client.get(f"/requests/{request.pk}/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


# --- hostile uploads -----------------------------------------------------------------------


def _api_attach(world, upload):
    request = world.requests["sales_to_it"]
    return api(world.org.requester).post(
        f"/api/v1/requests/{request.pk}/attachments/", {"file": upload}, format="multipart"
    )


def _api_comment(world, upload):
    request = world.requests["sales_to_it"]
    return api(world.org.agent).post(
        f"/api/v1/requests/{request.pk}/comments/",
        {"body": "See the file", "files": upload},
        format="multipart",
    )


def _api_file(world, upload):
    return api(world.org.requester).post(
        "/api/v1/requests/",
        {"service": world.laptop.pk, "title": "x", "description": "y", "files": upload},
        format="multipart",
    )


def _page_reply(world, upload, client):
    request = world.requests["sales_to_it"]
    client.force_login(world.org.requester)
    return client.post(f"/requests/{request.pk}/reply/", {"body": "See", "files": upload})


def _page_attach(world, upload, client):
    request = world.requests["sales_to_it"]
    client.force_login(world.org.agent)
    return client.post(f"/requests/{request.pk}/attach/", {"files": upload})


def _page_file(world, upload, client):
    client.force_login(world.org.requester)
    return client.post(
        "/requests/new/",
        {"service": world.laptop.pk, "title": "x", "description": "y", "files": upload},
    )


WAYS_IN = {
    "api attachments": _api_attach,
    "api comment": _api_comment,
    "api new request": _api_file,
    "page reply": _page_reply,
    "page attach": _page_attach,
    "page new request": _page_file,
}


@pytest.mark.parametrize("way_in", list(WAYS_IN))
def test_it_refuses_hostile_uploads_clearly_and_stores_nothing(client, world, settings, way_in):
    settings.ATTACHMENT_MAX_BYTES = 1024
    send = WAYS_IN[way_in]
    for kind, (name, content, message) in HOSTILE.items():
        rows, files = Attachment.objects.count(), stored_files()
        requests = ServiceRequest.objects.count()
        upload = SimpleUploadedFile(name, content, content_type="application/pdf")

        response = send(world, upload) if way_in.startswith("api") else send(world, upload, client)

        # The API answers 400; a page shows the form again with the message beside the field.
        assert response.status_code == (400 if way_in.startswith("api") else 200), kind
        assert message in response.content.decode(), kind
        assert Attachment.objects.count() == rows, kind
        assert stored_files() == files, kind
        assert ServiceRequest.objects.count() == requests, kind
