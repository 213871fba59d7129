from django import forms

from .handlers import KINDS
from .models import Preference


class PreferencesForm(forms.Form):
    """One choice per kind of notification, named after the kind."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            choices = Preference.Channel.choices
            if row.info.email_only:
                choices = [("email", "Email weekly"), ("off", "Off")]
            self.fields[row.kind] = forms.ChoiceField(
                label=row.info.label,
                help_text=row.info.help,
                choices=choices,
                initial=row.channel,
            )

    def channels(self) -> dict[str, str]:
        return {kind: self.cleaned_data[kind] for kind in KINDS if kind in self.cleaned_data}
