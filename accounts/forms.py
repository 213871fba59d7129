import datetime as dt

from django import forms
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.utils import timezone

from .identity import email_key
from .models import User

EXPIRY_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "One year"),
    ("never", "Never"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=True,
        help_text="What the token is for, e.g. “GitHub Actions for lab 3”.",
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires after")

    def expires_at(self) -> dt.datetime | None:
        value = self.cleaned_data["expires"]
        if value == "never":
            return None
        return timezone.now() + dt.timedelta(days=int(value))


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, finding the account by its canonical e-mail key (accounts.identity)
    instead of a case-insensitive match: one way to compare addresses everywhere."""

    def get_users(self, email):
        return (
            user
            for user in User.objects.filter(email_key=email_key(email), is_active=True)
            if user.has_usable_password()
        )
