"""Uploaded files, wherever they come in (a browser's form post, a signed multipart ingest): one
translation of Django's multipart parser errors into FormBridge's refusals, and one check of the
count and size limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.http.multipartparser import MultiPartParserError

from .errors import Invalid, TooLarge


@contextmanager
def multipart_refusals() -> Iterator[None]:
    """Parsing inside: a body over Django's limits is 413 payload_too_large, one that cannot be
    parsed is 400 invalid_payload."""
    try:
        yield
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as exc:
        raise TooLarge(str(exc), code="payload_too_large") from None
    except MultiPartParserError as exc:
        raise Invalid(
            f"The multipart body cannot be parsed: {exc}", code="invalid_payload"
        ) from None


def check_file_limits(
    files: list[tuple[str, UploadedFile]], *, max_files: int, max_file_bytes: int, per: str
) -> None:
    """At most `max_files` files (400 too_many_files), none over `max_file_bytes` (413
    file_too_large); `per` names what carried them ("post", "submission")."""
    if len(files) > max_files:
        raise Invalid(
            f"At most {max_files} file(s) per {per}; this one has {len(files)}.",
            code="too_many_files",
        )
    for name, upload in files:
        if upload.size > max_file_bytes:
            raise TooLarge(
                f"The file in {name!r} is {upload.size} bytes; the limit is {max_file_bytes}.",
                code="file_too_large",
            )
