"""Checks on what learners hand in: links, commits, checklists and attachment contents.

Pure functions (no database): services call them and turn a failure into an
``ApplicationError`` with per-field messages in ``extra["errors"]``.
"""

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import filetype
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

MAX_NOTES_CHARS = 50_000
MAX_BODY_CHARS = 50_000
COMMIT_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")
_url_validator = URLValidator(schemes=["http", "https"])


def clean_repo_url(value: str | None) -> str:
    """'' or an http(s) URL of at most 500 characters; raises ValueError with the reason."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 500:
        raise ValueError("The repository URL is too long (500 characters at most).")
    scheme = urlsplit(value).scheme.lower()
    if scheme not in {"http", "https"}:
        raise ValueError("The repository URL must start with http:// or https://.")
    try:
        _url_validator(value)
    except ValidationError as exc:
        raise ValueError("Enter a valid repository URL, like https://github.com/you/lab.") from exc
    return value


def clean_commit_sha(value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if not COMMIT_RE.fullmatch(value):
        raise ValueError("A commit SHA is 7 to 40 hexadecimal characters (0-9, a-f).")
    return value.lower()


def deliverable_text(item) -> str:
    """Curriculum deliverables are strings; tolerate {"text": ...} items too."""
    if isinstance(item, dict):
        return str(item.get("text") or item.get("title") or item.get("name") or "")
    return str(item)


def clean_checklist(value, deliverables: list) -> list[int]:
    """The indices of the deliverables the learner ticked, sorted and unique."""
    if value is None or value == "":
        return []
    if not isinstance(value, list | tuple | set):
        raise ValueError("The checklist must be a list of deliverable numbers.")
    ticked: set[int] = set()
    for raw in value:
        try:
            index = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a deliverable of this lab.") from None
        if isinstance(raw, bool) or not 0 <= index < len(deliverables):
            raise ValueError(f"{raw!r} is not a deliverable of this lab.")
        ticked.add(index)
    return sorted(ticked)


def frozen_checklist(ticked: list[int], deliverables: list) -> list[dict]:
    """The checklist as the learner saw and ticked it, self-contained for later reading."""
    chosen = set(ticked)
    return [
        {"index": i, "text": deliverable_text(item), "done": i in chosen}
        for i, item in enumerate(deliverables)
    ]


# --- Attachments --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    content_type: str
    binary_mime: str | None = None  # what `filetype` must detect in the first bytes
    text_check: str | None = None  # "text", "csv", "json", "ipynb"


FILE_KINDS: dict[str, FileKind] = {
    "png": FileKind("image/png", binary_mime="image/png"),
    "jpg": FileKind("image/jpeg", binary_mime="image/jpeg"),
    "jpeg": FileKind("image/jpeg", binary_mime="image/jpeg"),
    "gif": FileKind("image/gif", binary_mime="image/gif"),
    "pdf": FileKind("application/pdf", binary_mime="application/pdf"),
    "txt": FileKind("text/plain; charset=utf-8", text_check="text"),
    "md": FileKind("text/markdown; charset=utf-8", text_check="text"),
    "csv": FileKind("text/csv; charset=utf-8", text_check="csv"),
    "json": FileKind("application/json", text_check="json"),
    "ipynb": FileKind("application/x-ipynb+json", text_check="ipynb"),
}
ALLOWED_EXTENSIONS = tuple(FILE_KINDS)
# `filetype` matches short prefixes (e.g. "GIF8"); these full signatures close the gap.
_STRICT_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(name: str | None) -> str:
    """The base name only, without control characters or path parts, at most 255 chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", name).strip().strip(".") or "attachment"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:255]
    return name


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def check_content(data: bytes, ext: str) -> str:
    """The content type to store for ``data`` named ``*.ext``, or ValueError saying why not.

    Binary formats are recognised from their first bytes with `filetype` (so an HTML page
    renamed to .png is refused); text formats must be UTF-8 without NUL bytes, must not
    be a binary format in disguise, and JSON/notebooks must parse.
    """
    kind = FILE_KINDS.get(ext)
    if kind is None:
        allowed = ", ".join(sorted(set(ALLOWED_EXTENSIONS) - {"jpeg"}))
        raise ValueError(f"Files of this type are not accepted. Allowed: {allowed}.")
    if not data:
        raise ValueError("The file is empty.")
    detected = filetype.guess(data[:8192])
    if kind.binary_mime:
        if (
            detected is None
            or detected.mime != kind.binary_mime
            or not data.startswith(_STRICT_SIGNATURES[kind.binary_mime])
        ):
            raise ValueError(f"The file's content is not a valid .{ext} file.")
        return kind.content_type
    if detected is not None:
        raise ValueError(f"The file's content is a {detected.extension} file, not .{ext}.")
    if b"\x00" in data:
        raise ValueError(f"A .{ext} file must be text, but this one contains binary data.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"A .{ext} file must be UTF-8 text.") from None
    if kind.text_check == "csv":
        try:
            for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
                pass
        except csv.Error as exc:
            raise ValueError(f"The CSV file cannot be read: {exc}.") from None
    elif kind.text_check in {"json", "ipynb"}:
        try:
            parsed = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise ValueError(f"The .{ext} file is not valid JSON.") from None
        if kind.text_check == "ipynb" and not (
            isinstance(parsed, dict)
            and isinstance(parsed.get("cells"), list)
            and "nbformat" in parsed
        ):
            raise ValueError("The .ipynb file is not a Jupyter notebook.")
    return kind.content_type
