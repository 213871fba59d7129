"""Plumbing every app's `api/` package shares: errors, pagination, throttles, schema.

Error bodies are always `{"detail": str, "code": str, "errors": {field: [messages]}}`
(plus `context` when a service adds facts such as the current state, and then `state`
at the top level too):
- `core.exceptions.ApplicationError` from a service: code `forbidden` -> 403,
  `invalid_transition`/`conflict` -> 409, `not_found` -> 404, anything else -> 400;
- DRF's own errors keep their status (400 validation, 401, 403, 404, 405, 415, 429).
Objects the caller may not see are looked up in querysets filtered by the owning app's
`*_visible_to(user)`, so they are a 404; visible objects whose action is refused are a 403.
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.exceptions import ApplicationError
from core.throttling import SlidingWindowThrottle

STATUS_BY_APPLICATION_CODE = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "forbidden": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
    "invalid_transition": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
}


def _as_error_dict(data) -> dict:
    if isinstance(data, dict):
        return {key: value if isinstance(value, list) else [value] for key, value in data.items()}
    if isinstance(data, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: data}
    return {api_settings.NON_FIELD_ERRORS_KEY: [data]}


def _first_message(errors: dict) -> str:
    for messages in errors.values():
        for message in messages:
            if isinstance(message, dict):
                return _first_message(_as_error_dict(message))
            if isinstance(message, list) and message:
                return str(message[0])
            return str(message)
    return "Invalid input."


def _application_error_fields(exc: ApplicationError) -> dict:
    """Services say which field is wrong as `extra={"field": name}` or
    `extra={"errors": {name: message}}`; anything else in `extra` is context, not an error."""
    extra = dict(exc.extra or {})
    errors: dict = {}
    field = extra.pop("field", None)
    if isinstance(field, str) and field:
        errors[field] = [exc.message]
    named = extra.pop("errors", None)
    if isinstance(named, dict):
        errors.update(_as_error_dict(named))
    elif isinstance(named, list | str):
        errors.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).extend(
            named if isinstance(named, list) else [named]
        )
    result = {"errors": errors}
    if extra:
        result["context"] = extra
    return result


def exception_handler(exc, context):
    """Turn every refusal into the one error body (see module docstring)."""
    # Imported here: rest_framework.views reads the settings that name this module's classes.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        code = exc.code or "invalid"
        body = {"detail": exc.message, "code": code, **_application_error_fields(exc)}
        if "state" in body.get("context", {}):
            # A refused transition names the object's current state at the top level too,
            # so a client (a CI job) can branch on it: {"code": "invalid_transition", "state": ...}.
            body["state"] = body["context"]["state"]
        return Response(
            body, status=STATUS_BY_APPLICATION_CODE.get(code, status.HTTP_400_BAD_REQUEST)
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _as_error_dict(response.data)
        response.data = {"detail": _first_message(errors), "code": "invalid", "errors": errors}
        return response
    if isinstance(exc, Http404):
        code, detail = "not_found", "Not found."
    elif isinstance(exc, DjangoPermissionDenied):
        code, detail = "permission_denied", "You do not have permission to perform this action."
    else:
        detail = getattr(exc, "detail", response.data.get("detail", ""))
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
    response.data = {"detail": str(detail), "code": str(code), "errors": {}}
    return response


class Pagination(PageNumberPagination):
    """Every list is paged; clients may ask for up to 100 items a page."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


# --- Throttling -----------------------------------------------------------------------------


class _SettingsRateThrottle(SlidingWindowThrottle):
    # DRF reads the rates once at import; reading them per request lets settings change them.
    def get_rate(self):
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return rates.get(self.scope)

    def __init__(self):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        # One Redis round trip per check (core.throttling), failing open while Redis is down.
        return super().allow_request(request, view)


class UserThrottle(_SettingsRateThrottle):
    """Per signed-in user, whichever way they authenticated."""

    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class IPThrottle(_SettingsRateThrottle):
    """Per client address, signed in or not (NUM_PROXIES decides which address is trusted)."""

    scope = "ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainThrottle(IPThrottle):
    """The password-for-token exchange: a much lower rate per address."""

    scope = "auth_token"


# --- Errors in the schema ----------------------------------------------------------------------


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
        "context": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail", "code", "errors"],
}
_ERROR_DESCRIPTIONS = {
    "400": "Bad input; `errors` maps fields to messages.",
    "401": "No credentials, or credentials that are invalid, revoked or expired.",
    "403": "The object is visible to you but the action is not allowed.",
    "404": "No such object, or not visible to you.",
    "409": "The object is not in a state that allows this action.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: document the error body on every operation."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = ["400", "401", "403", "404", "429"]
            if method != "get":
                codes.append("409")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": _ERROR_DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ref}},
                    },
                )
    return result


def visible_or_404(queryset, **lookup):
    """The one object matching `lookup` in an already visibility-filtered queryset, else 404."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise exceptions.NotFound() from exc


class IdFilter(django_filters.NumberFilter):
    """A filter on an id: a whole number in the database's range, or a 400 (never a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class SmallNumberFilter(django_filters.NumberFilter):
    """A filter on a small whole number such as a week."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 100_000)
        super().__init__(*args, **kwargs)
