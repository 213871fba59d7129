from django.db import transaction

from core.exceptions import ApplicationError

from .models import User


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


@transaction.atomic
def user_get_or_create(*, email: str, name: str = "") -> tuple[User, bool]:
    """Find a user by email (case-insensitive) or create one with an unusable password.

    Side effects: may insert a User. Sends nothing: callers decide whether to invite.
    """
    email = normalize_email(email)
    if not email or "@" not in email:
        raise ApplicationError(f"“{email}” is not a valid email address.", code="invalid_email")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(email=email, password=None, name=name.strip()[:150])
    return user, True
