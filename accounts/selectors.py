from .identity import email_key
from .models import ApiToken, User


def user_by_email_key(email: str) -> User | None:
    """The account that `email`, however spelled, identifies (same canonical key), or None."""
    return User.objects.filter(email_key=email_key(email)).first()


def api_tokens_of(user: User):
    """A user's tokens, newest first (revoked ones included, so the list shows history)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
