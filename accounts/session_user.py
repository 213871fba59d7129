"""The signed-in user of a request, read with a statement compiled once per process.

Every signed-in request loads its user: Django's `get_user` asks the session's backend
(`ModelBackend.get_user`, an ORM query composed afresh each time, about a fifth of a cached
page's CPU). For sessions made by `ModelBackend` (every sign-in here) this reads the same
row with a `PreparedQuery` and applies the same rules: an inactive account is signed out
(`ModelBackend.user_can_authenticate`), and the session's auth hash must match the
account's password, so changing the password ends every other session at once. Anything
else (another backend, a hash that only a fallback secret verifies, a hash that fails) is
answered by Django's own `get_user`, which rotates or flushes the session as it always has.
"""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from core.prepared import Param, PreparedQuery

from .models import User

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

_USER_BY_ID = PreparedQuery(lambda: User._default_manager.filter(pk=Param("pk")))


def session_user(request):
    """The user signed in to `request.session`, or AnonymousUser (as `auth.get_user`)."""
    session = request.session
    try:
        user_id = User._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return AnonymousUser()
    if backend_path != MODEL_BACKEND or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    user = _USER_BY_ID.first(pk=user_id)
    # ModelBackend.get_user: no such account, or one that may not sign in.
    if user is None or not getattr(user, "is_active", True):
        return AnonymousUser()
    session_hash = session.get(HASH_SESSION_KEY)
    if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    return auth.get_user(request)


def _cached_session_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)
    return request._cached_user


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware with `request.user` from `session_user`."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_session_user(request))
