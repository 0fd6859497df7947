"""What may be attached to a request: size, count and type limits, checked by content.

A file's extension must be on the list and its first bytes must match it, so a renamed
executable is refused; the stored name is random and downloads go through a view that
checks visibility and sends the file as an attachment.
"""

import mimetypes
import os
import re

from django.conf import settings
from django.template.defaultfilters import filesizeformat

# extension -> (content type, check of the first bytes)
ZIP = b"PK\x03\x04"
ALLOWED = {
    ".pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
    ".png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ".jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".jpeg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ".gif": ("image/gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    ".txt": ("text/plain", lambda head: _is_text(head)),
    ".csv": ("text/csv", lambda head: _is_text(head)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        lambda head: head.startswith(ZIP),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda head: head.startswith(ZIP),
    ),
    ".pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        lambda head: head.startswith(ZIP),
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", lambda head: head.startswith(ZIP)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", lambda head: head.startswith(ZIP)),
}
HEAD_BYTES = 2048


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return head


def extension_of(name: str) -> str:
    return os.path.splitext(name or "")[1].lower()


def safe_name(name: str) -> str:
    """A display name without path parts or control characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "file"
    return name[:200]


def content_type_of(upload) -> str:
    return ALLOWED.get(extension_of(upload.name), (mimetypes.guess_type(upload.name)[0],))[0]


def error_for(upload) -> str | None:
    """Why this file cannot be attached, or None."""
    name = safe_name(upload.name)
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        return (
            f"{name} is {filesizeformat(upload.size)}; files can be at most "
            f"{filesizeformat(settings.ATTACHMENT_MAX_BYTES)}."
        )
    if upload.size == 0:
        return f"{name} is empty."
    rule = ALLOWED.get(extension_of(name))
    if rule is None:
        allowed = ", ".join(sorted(ALLOWED))
        return f"{name}: this type of file cannot be attached (allowed: {allowed})."
    if not rule[1](_head(upload)):
        return f"{name} does not look like a {extension_of(name)} file."
    return None


def errors_for(files) -> dict:
    """Field errors for a list of uploads: count, then each file."""
    files = list(files or [])
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        return {"files": [f"Attach at most {settings.ATTACHMENT_MAX_FILES} files at a time."]}
    messages = [message for message in map(error_for, files) if message]
    return {"files": messages} if messages else {}
