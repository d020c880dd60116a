"""Reading HTML form posts with a size limit: URL-encoded fields and multipart file uploads.

The body is read in chunks and refused once it passes the limit, so a 100 MB
file never sits in memory whole. The multipart parser is small on purpose: it
handles what browsers send (``Content-Disposition: form-data; name=...;
filename=...``) and nothing more. The uploaded file name is kept only as text
to show; nothing here touches the file system.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request

#: Past this many bytes a refused body is no longer read (the connection is simply closed).
DRAIN_FACTOR = 4


class BodyTooLarge(Exception):
    """The request body is over the limit; ``size`` is what was declared or read."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"request body of {size} bytes is over the limit")


class BadForm(Exception):
    """The body is not a form this page sent."""


@dataclass(slots=True)
class UploadedFile:
    filename: str  # as the browser sent it: for display only, never a path
    content: bytes


@dataclass(slots=True)
class Form:
    fields: dict[str, str]
    files: dict[str, UploadedFile]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or :class:`BodyTooLarge` once it passes ``limit`` bytes.

    A refused body is still read and thrown away up to ``DRAIN_FACTOR`` times the limit,
    because a browser that is cut off mid-upload shows "connection reset" instead of our message.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit * DRAIN_FACTOR:
        raise BodyTooLarge(int(declared))
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit * DRAIN_FACTOR:
            break
        if total <= limit:
            chunks.append(chunk)
    if total > limit:
        raise BodyTooLarge(max(total, int(declared) if declared.isdigit() else 0))
    return b"".join(chunks)


def parse_urlencoded(body: bytes) -> Form:
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return Form({k: v[0] for k, v in parsed.items()}, {})


_PARAM_RE = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def _header_params(value: str) -> dict[str, str]:
    return {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3).strip())
            for m in _PARAM_RE.finditer(value)}


def parse_multipart(body: bytes, content_type: str) -> Form:
    """Split a ``multipart/form-data`` body into text fields and files."""
    boundary = _header_params(content_type).get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise BadForm("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    parts = body.split(b"--" + boundary.encode("latin-1"))
    if len(parts) < 3:
        raise BadForm("multipart body has no parts")
    for part in parts[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise BadForm("multipart part without headers")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        params = _header_params(";" + disposition.split(";", 1)[1] if ";" in disposition else "")
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            files[name] = UploadedFile(params["filename"], content)
        else:
            fields[name] = content.decode("utf-8", "replace")
    return Form(fields, files)


async def read_form(request: Request, limit: int) -> Form:
    """Read and parse a form post of either encoding (:class:`BodyTooLarge`, :class:`BadForm`)."""
    content_type = request.headers.get("content-type", "")
    body = await read_body(request, limit)
    if content_type.startswith("multipart/form-data"):
        return parse_multipart(body, content_type)
    if content_type.startswith("application/x-www-form-urlencoded") or not body:
        return parse_urlencoded(body)
    raise BadForm(f"unexpected form encoding '{content_type[:60]}'")
