from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from .identity import email_canonical, email_key, validate_display_name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        email = email_canonical(email)  # ValidationError for an address we do not accept
        user = self.model(email=email, email_key=email_key(email), **extra)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email: str):
        """The account whose canonical key matches: sign-in and the API token use this."""
        return self.get(email_key=email_key(email))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; roles in cohorts come from cohorts.Membership."""

    email = models.EmailField(unique=True)
    # The identity: accounts.identity.email_key(email). Every lookup by address uses it.
    email_key = models.CharField(max_length=320, unique=True, editable=False)
    name = models.CharField(max_length=150, blank=True, validators=[validate_display_name])
    time_zone = models.CharField(max_length=64, default="UTC")
    # Away mode (a mentor on holiday): gets no new reviews before this instant. Written only
    # by accounts.services.user_set_away / user_end_away (submissions hands the reviews over).
    away_until = models.DateTimeField(null=True, blank=True)
    away_note = models.CharField(max_length=500, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            # A row written without its key would block the next one; refuse it outright.
            models.CheckConstraint(
                condition=~models.Q(email_key=""), name="user_email_key_not_empty"
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    def is_away(self, now=None) -> bool:
        """Away (no new reviews) at `now`: `away_until` is still ahead."""
        return self.away_until is not None and self.away_until > (now or timezone.now())

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.display_name


class ApiToken(models.Model):
    """An API token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
