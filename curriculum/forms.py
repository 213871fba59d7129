from __future__ import annotations

from django import forms
from django.conf import settings

from .parsers import FORMAT_CHOICES


class CurriculumUploadForm(forms.Form):
    file = forms.FileField(
        label="Curriculum file",
        help_text="Labs index (.txt), Markdown, YAML or JSON; up to 5 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".txt,.md,.markdown,.yaml,.yml,.json,text/*"}
        ),
    )
    format = forms.ChoiceField(
        label="Format",
        choices=FORMAT_CHOICES,
        initial="auto",
        help_text="Detected from the content unless you choose one.",
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        limit = getattr(settings, "CURRICULUM_MAX_BYTES", 5 * 1024 * 1024)
        # Checked on the upload's declared size, before anything is read or stored.
        if uploaded.size > limit:
            raise forms.ValidationError(
                f"The file is {uploaded.size / (1024 * 1024):.1f} MB; the limit is {limit // (1024 * 1024)} MB."
            )
        if uploaded.size == 0:
            raise forms.ValidationError("The file is empty.")
        return uploaded


class LabEditForm(forms.Form):
    """Shape of the staff edit page; the rules (non-empty, changed, note) live in `lab_edit`."""

    title = forms.CharField(label="Title", max_length=300)
    body = forms.CharField(
        label="Lab text (Markdown)",
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "true"}),
        help_text="Mark code with backticks. The top-level list items are the learner's steps "
        "and checklist.",
    )
    note = forms.CharField(
        label="What did you correct?",
        max_length=500,
        help_text="Learners working on this lab see this note with the changes.",
    )
