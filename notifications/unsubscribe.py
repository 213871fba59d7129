"""One-click unsubscribe links (RFC 8058), one per person and kind of email.

A link carries a token signed with SECRET_KEY (django.core.signing) naming the user and
the kind, so it works without signing in and cannot be forged or pointed at someone else.
Kinds are the keys of `handlers.KINDS` plus `DIGEST`, the daily digest. Every email the
notifications app sends carries the link in its footer and in the `List-Unsubscribe` and
`List-Unsubscribe-Post` headers, so mail clients can offer their own button.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from .handlers import KINDS

SALT = "notifications.unsubscribe"
DIGEST = "digest"
DIGEST_LABEL = "Daily digest"


def label(kind: str) -> str:
    return DIGEST_LABEL if kind == DIGEST else KINDS[kind].label


def token(*, user_id: int, kind: str) -> str:
    return signing.dumps([user_id, kind], salt=SALT, compress=False)


def url(*, user_id: int, kind: str) -> str:
    return settings.SITE_URL + reverse(
        "notifications:unsubscribe", args=[token(user_id=user_id, kind=kind)]
    )


def headers(*, user_id: int, kind: str, link: str | None = None) -> dict[str, str]:
    """The RFC 8058 headers; `link`: this user's and kind's `url()`, when already made."""
    return {
        "List-Unsubscribe": f"<{link or url(user_id=user_id, kind=kind)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def read(value: str):
    """The (active user, kind) a token names, or None when it is forged, malformed, names
    an unknown kind or a user who no longer exists or is deactivated."""
    try:
        user_id, kind = signing.loads(value, salt=SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not (kind == DIGEST or kind in KINDS):
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return (user, kind) if user is not None else None
