from .models import ApiToken, User


def api_tokens_of(user: User):
    """A user's tokens, newest first (revoked ones included, so the list shows history)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
