"""A request id on every log line written while a request is answered.

The id comes from the proxy's X-Request-ID header when it looks like one (so a line in
our logs can be matched with the proxy's), else it is made here; the response carries it
back in X-Request-ID. config/settings.py attaches RequestIdFilter to the console handler,
and LOG_FORMAT=json writes it as the "request_id" field.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Anything else in the header (too long, spaces, control characters) is replaced.
VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if VALID_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Sets record.request_id: the current request's, or None outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is None:
            # Django logs 4xx/5xx responses after the middleware has returned, with the
            # request in `extra`.
            current = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = current
        return True
