import datetime as dt

from django import forms
from django.utils import timezone

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
