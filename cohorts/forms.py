"""Forms for the cohort pages. They parse and label input; the services decide."""

from functools import lru_cache
from zoneinfo import available_timezones

from django import forms

from accounts.forms import TIME_ZONE_HELP, TimeZoneInput
from curriculum.models import Track

from .models import Cohort, Membership


@lru_cache(maxsize=1)
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CohortForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=200,
        required=False,
        help_text="Used in addresses. Leave empty to make one from the name.",
    )
    track = forms.ModelChoiceField(queryset=Track.objects.none(), empty_label="Choose a track")
    start_date = forms.DateField(widget=DateInput(), help_text="Week 1 releases on this day.")
    time_zone = forms.ChoiceField(
        choices=(),
        initial="UTC",
        help_text="Labs release at 00:00 and are due at 23:59 in this time zone.",
    )
    pace_days = forms.IntegerField(
        min_value=1, max_value=365, initial=7, label="Pace (days between weeks)"
    )
    status = forms.ChoiceField(choices=Cohort.Status.choices, initial=Cohort.Status.DRAFT)
    review_sla_hours = forms.IntegerField(min_value=1, initial=48, label="Review SLA (hours)")
    mentor_capacity = forms.IntegerField(
        min_value=1, initial=10, label="Open reviews per mentor (default)"
    )
    description = forms.CharField(widget=forms.Textarea, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = Track.objects.filter(active=True).order_by(
            "position", "name"
        )
        self.fields["time_zone"].choices = time_zone_choices()

    @classmethod
    def initial_from(cls, cohort: Cohort) -> dict:
        return {
            "name": cohort.name,
            "slug": cohort.slug,
            "track": cohort.track_id,
            "start_date": cohort.start_date,
            "time_zone": cohort.time_zone,
            "pace_days": cohort.pace_days,
            "status": cohort.status,
            "review_sla_hours": cohort.review_sla_hours,
            "mentor_capacity": cohort.mentor_capacity,
            "description": cohort.description,
        }


class MemberAddForm(forms.Form):
    email = forms.EmailField(max_length=254)
    name = forms.CharField(max_length=150, required=False, help_text="Used for new accounts.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.LEARNER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class EnrollmentUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns email,name,role (role: learner or mentor). UTF-8, at most 1 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class OverrideForm(forms.Form):
    release_at = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), label="Release", localize=False
    )
    due_at = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), label="Due", localize=False
    )


class ExtensionForm(forms.Form):
    learner = forms.ModelChoiceField(queryset=None, empty_label="Choose a learner")
    lab = forms.ModelChoiceField(queryset=None, empty_label="Choose a lab")
    due_at = forms.DateTimeField(widget=DateTimeLocalInput(), label="New due time")
    reason = forms.CharField(max_length=500)

    def __init__(self, *args, learners, labs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["learner"].queryset = learners
        self.fields["learner"].label_from_instance = lambda u: f"{u.display_name} ({u.email})"
        self.fields["lab"].queryset = labs
        self.fields["lab"].label_from_instance = lambda lab: f"Week {lab.week} · {lab.title}"


class JoinLinkForm(forms.Form):
    expires_at = forms.DateTimeField(
        required=False,
        widget=DateTimeLocalInput(),
        label="Expires",
        help_text="Leave empty for a link that works until you turn it off.",
    )


class JoinSignupForm(forms.Form):
    field_order = ["name", "email", "time_zone", "password1", "password2"]
    name = forms.CharField(max_length=150)
    email = forms.EmailField(max_length=254)
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    time_zone = forms.CharField(
        max_length=64,
        required=False,
        label="Time zone",
        widget=TimeZoneInput(fill_from_device=True),
        help_text=TIME_ZONE_HELP + " Left empty: UTC.",
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class BulkExtensionForm(forms.Form):
    """One lab's extension for every learner of the cohort."""

    lab = forms.ModelChoiceField(queryset=None, empty_label="Choose a lab")
    due_at = forms.DateTimeField(widget=DateTimeLocalInput(), label="New due time")
    reason = forms.CharField(max_length=500, help_text="Each learner sees it with their date.")

    def __init__(self, *args, labs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = labs
        self.fields["lab"].label_from_instance = lambda lab: f"Week {lab.week} · {lab.title}"


class ScheduleShiftForm(forms.Form):
    days = forms.IntegerField(
        label="Move by (days)",
        help_text="7 moves everything still ahead a week later; −7 a week earlier.",
        widget=forms.NumberInput(attrs={"step": 1}),
    )


class AnnouncementForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20_000,
        help_text="Markdown. Every active member gets it in the app and by e-mail, as their "
        "notification preferences say.",
    )
