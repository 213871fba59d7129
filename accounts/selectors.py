from .models import ApiToken, User


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip()).first()


def api_tokens_of(user: User):
    """A user's tokens, newest first (revoked ones included, so the list shows history)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
