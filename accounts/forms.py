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


class TimeZoneInput(forms.TextInput):
    """A text box searching the page's `time-zone-names` datalist (accounts/_time_zones.html).

    Works without JavaScript; static/js/time_zone.js offers (or fills in) this device's zone.
    """

    def __init__(self, *, fill_from_device: bool = False):
        attrs = {
            "list": "time-zone-names",
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "Type a city, e.g. Tokyo",
            "data-time-zone": "fill" if fill_from_device else "suggest",
        }
        super().__init__(attrs=attrs)


TIME_ZONE_HELP = "Every date and time is shown to you in this zone. Type to search, e.g. “Paris”."


class ProfileForm(forms.Form):
    """Parses the profile box; accounts.services.user_update_profile decides."""

    name = forms.CharField(max_length=150, required=False, label="Display name")
    time_zone = forms.CharField(
        max_length=64, label="Time zone", widget=TimeZoneInput(), help_text=TIME_ZONE_HELP
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "profile-%s")  # the token form on the page has a name too
        super().__init__(*args, **kwargs)


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, finding the account by its canonical e-mail key (accounts.identity)
    instead of a case-insensitive match: one way to compare addresses everywhere."""

    def get_users(self, email):
        return (
            user
            for user in User.objects.filter(email_key=email_key(email), is_active=True)
            if user.has_usable_password()
        )
