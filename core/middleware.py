import functools
import zoneinfo

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone


class UserTimezoneMiddleware:
    """Show times in the signed-in person's own time zone (User.time_zone).

    Works in process_view, so that views marked `skip_user_timezone` (health checks) never
    load the session or the user: they must answer without touching the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "skip_user_timezone", False):
            return None
        tz_name = getattr(getattr(request, "user", None), "time_zone", "") or ""
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name)) if tz_name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return None


def skip_user_timezone(view_func):
    """Mark a view that must not load the session or the user (see UserTimezoneMiddleware)."""
    view_func.skip_user_timezone = True
    return view_func


class RejectNulCharactersMiddleware:
    """Answer 400 to a query string or form/JSON body carrying a NUL character.

    PostgreSQL text cannot hold NUL, so such a value would reach a lookup (a slug, a
    filter, a related field) and fail as a database error instead of a clear refusal.
    In a multipart body the fields and their names are checked, not the files (a file may
    contain any byte).
    """

    JSON_NUL = b"\\u0000"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            from django.http import JsonResponse

            return JsonResponse(
                # The API's error shape, so clients parse one format for every 400.
                {
                    "detail": "The request contains a NUL character, which is never valid here.",
                    "code": "invalid",
                    "errors": {},
                },
                status=400,
            )
        return self.get_response(request)

    def _has_nul(self, request) -> bool:
        if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get(
            "QUERY_STRING", ""
        ):
            return True
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = request.body
            return b"\x00" in body or b"%00" in body
        if content_type.startswith("application/json"):
            body = request.body
            return b"\x00" in body or self.JSON_NUL in body
        if content_type.startswith("multipart/form-data"):
            try:
                fields, files = request.POST, request.FILES
            except MultiPartParserError:
                return False  # a broken body: the view answers it (400)
            # Django drops what is not printable from the files' own names.
            texts = [*fields.keys(), *files.keys()]
            texts += [value for _, values in fields.lists() for value in values]
            return any("\x00" in text for text in texts)
        return False


def upload_limit(spec: str | tuple[str, str]) -> int:
    """The bytes of files an upload route takes: `spec` names the per-file size setting, or
    (size setting, count setting) for a form that takes several files."""
    from django.conf import settings

    if isinstance(spec, str):
        return getattr(settings, spec)
    size, count = spec
    return getattr(settings, size) * getattr(settings, count)


class RequestBodyLimitMiddleware:
    """Refuse a request body over its route's limit before any of it is read (413).

    First in MIDDLEWARE: nothing before it touches the body, and Django reads it only when
    a view or another middleware asks (CSRF, the forms). The limit depends on the route:
    `settings.UPLOAD_ROUTES` names the upload views and the size settings of the files each
    takes (`upload_limit`, plus `UPLOAD_BODY_MARGIN_BYTES` for the multipart framing and other fields);
    other /api/ routes get `API_BODY_MAX_BYTES`, everything else `FORM_BODY_MAX_BYTES`.

    A declared Content-Length is trusted only to refuse: over the limit, the answer is
    given without reading a byte. A body sent without one (Transfer-Encoding: chunked) is
    read here up to the limit, and refused as soon as it passes it.
    """

    CHUNK = 64 * 1024

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return self.refuse(request, 400, "The Content-Length header is not a number.")
            if length < 0:
                return self.refuse(request, 400, "The Content-Length header is not a number.")
            # No body (most GETs) is within every limit: the route is not resolved for it.
            if length > 0:
                limit, file_limit = self.limit_for(request)
                if length > limit:
                    return self.too_large(request, limit, file_limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            limit, file_limit = self.limit_for(request)
            body = self.read_capped(request.META["wsgi.input"], limit)
            if body is None:
                return self.too_large(request, limit, file_limit)
            self.replace_body(request, body)
        return self.get_response(request)

    @staticmethod
    def limit_for(request) -> tuple[int, int | None]:
        """The body limit of the request's route, and for an upload route its file limit."""
        from django.conf import settings
        from django.urls import Resolver404, resolve

        try:
            view_name = resolve(request.path_info).view_name
        except Resolver404:
            view_name = None
        if view_name in settings.UPLOAD_ROUTES:
            file_limit = upload_limit(settings.UPLOAD_ROUTES[view_name])
            return file_limit + settings.UPLOAD_BODY_MARGIN_BYTES, file_limit
        if request.path_info.startswith("/api/"):
            return settings.API_BODY_MAX_BYTES, None
        return settings.FORM_BODY_MAX_BYTES, None

    def read_capped(self, stream, limit: int) -> bytes | None:
        """The whole body, or None as soon as it is longer than `limit`."""
        chunks, size = [], 0
        while chunk := stream.read(min(self.CHUNK, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return None
        return b"".join(chunks)

    @staticmethod
    def replace_body(request, body: bytes) -> None:
        """Give Django the body read here, as if it had come with a Content-Length."""
        import io

        from django.core.handlers.wsgi import LimitedStream

        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))

    def too_large(self, request, limit: int, file_limit: int | None):
        if file_limit is not None:
            message = f"The file is too large: at most {_size(file_limit)} is accepted here."
        else:
            message = f"The request body is too large: at most {_size(limit)} is accepted here."
        return self.refuse(request, 413, message)

    @staticmethod
    def refuse(request, status: int, message: str):
        from django.http import HttpResponse, JsonResponse

        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": message, "code": "too_large" if status == 413 else "invalid"},
                status=status,
            )
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{size // 1024} KB"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the headers built from the settings once per process.

    Building the policy from CONTENT_SECURITY_POLICY (twice: enforced and report-only) was
    a few per cent of a cached page's CPU, on every response, for the same text. A response
    that asks for a policy of its own (django-csp's decorators) or a request that used a
    nonce takes django-csp's own path, unchanged.
    """

    OWN_POLICY = (
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
    )

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in self.OWN_POLICY
        ):
            return super().process_response(request, response)
        from django.conf import settings

        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        for header, policy, setting, exempt in _settings_policies():
            if (
                policy
                and header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(_excluded_prefixes(setting))
            ):
                response[header] = policy
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp: a nonce asked for after the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@functools.cache
def _settings_policies() -> tuple:
    """(header, policy text, setting, exemption attribute) for the enforced and the
    report-only policy, as django-csp builds them from the settings alone."""
    return (
        (HEADER, build_policy(), "CONTENT_SECURITY_POLICY", "_csp_exempt"),
        (
            HEADER_REPORT_ONLY,
            build_policy(report_only=True),
            "CONTENT_SECURITY_POLICY_REPORT_ONLY",
            "_csp_exempt_ro",
        ),
    )


def _excluded_prefixes(setting: str) -> tuple:
    from django.conf import settings

    policy = getattr(settings, setting, None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


@receiver(setting_changed)
def _forget_policies(*, setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()
