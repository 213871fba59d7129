import zoneinfo

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
    File uploads (multipart) are left alone: files may contain any byte.
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
        return False
