"""Form shapes for the pages. Rules live in services; these only parse the request."""

import uuid

from django import forms

from .models import Review, SavedReply
from .validation import deliverable_text

MARK_CHOICES = [
    ("", "Not marked"),
    ("met", "Met"),
    ("not_met", "Not met"),
    ("na", "Not applicable"),
]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files from one ``<input type="file" multiple>`` (a list)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class DraftForm(forms.Form):
    repo_url = forms.CharField(
        label="Repository URL",
        required=False,
        max_length=500,
        widget=forms.URLInput(
            attrs={"placeholder": "https://github.com/you/lab", "inputmode": "url"}
        ),
        help_text="A public link to your work (http or https).",
    )
    commit_sha = forms.CharField(
        label="Commit SHA (optional)",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="7 to 40 hexadecimal characters, e.g. 3f2a9c1.",
    )
    notes = forms.CharField(
        label="Notes for your mentor",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown is supported.",
    )
    checklist = forms.TypedMultipleChoiceField(
        label="Deliverables", required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    files = MultipleFileField(label="Add files", required=False)
    # Draft files to leave out; the service checks they are this draft's.
    remove_files = forms.TypedMultipleChoiceField(
        label="Remove", required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def __init__(
        self,
        *args,
        deliverables: list,
        validate_url: str | None = None,
        draft_files: list = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].choices = [
            (i, deliverable_text(item)) for i, item in enumerate(deliverables)
        ]
        self.fields["remove_files"].choices = [(f.pk, f.original_name) for f in draft_files]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
        for name in ("repo_url", "commit_sha", "notes"):
            attrs = self.fields[name].widget.attrs
            # Help text and the (inline-validated) error are both read with the field.
            attrs["aria-describedby"] = f"id_{name}_helptext err-{name}"
            if validate_url and name != "notes":
                attrs.update(
                    {
                        "hx-post": validate_url,
                        # Checked while typing (after a pause) and on leaving the field, so
                        # an error goes away as soon as the value is fixed.
                        "hx-trigger": "input changed delay:500ms, change",
                        "hx-target": f"#err-{name}",
                        "hx-swap": "outerHTML",
                        "hx-vals": f'{{"field": "{name}"}}',
                    }
                )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown is supported.",
    )


class ReviewForm(forms.Form):
    """The review page's one form: the review and the discussion box post together, so
    whichever button is pressed, nothing typed on the page is dropped."""

    # Required by the service when a review is posted, not when a message is sent.
    verdict = forms.ChoiceField(
        label="Verdict", choices=Review.Verdict.choices, widget=forms.RadioSelect, required=False
    )
    body = forms.CharField(
        label="Review",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown is supported. Say what to change when you request changes.",
    )
    message = forms.CharField(label="Message", required=False, widget=forms.Textarea)
    # Set by the "Revise my verdict" form: a second verdict on an iteration says so.
    revise = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, deliverables: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.deliverables = [deliverable_text(item) for item in deliverables]
        for index, text in enumerate(self.deliverables):
            self.fields[f"mark_{index}"] = forms.ChoiceField(
                label=text, choices=MARK_CHOICES, required=False
            )

    def mark_fields(self):
        return [self[f"mark_{i}"] for i in range(len(self.deliverables))]

    def review_draft(self) -> dict | None:
        """The review typed so far, as initial values for the form (None when empty)."""
        data = self.cleaned_data
        marks = self.marks()
        if not (data.get("verdict") or (data.get("body") or "").strip() or marks):
            return None
        return {
            "verdict": data.get("verdict") or "",
            "body": data.get("body") or "",
            "revise": bool(data.get("revise")),
            **{f"mark_{index}": value for index, value in marks.items()},
        }

    def marks(self) -> dict[str, str]:
        return {
            str(i): self.cleaned_data.get(f"mark_{i}")
            for i in range(len(self.deliverables))
            if self.cleaned_data.get(f"mark_{i}")
        }


class ReassignForm(forms.Form):
    mentor = forms.TypedChoiceField(label="Reassign to", coerce=int)
    reason = forms.CharField(label="Reason", required=False, max_length=500)

    def __init__(self, *args, mentors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentor"].choices = [(m.pk, f"{m.display_name} ({m.email})") for m in mentors]


def apply_service_errors(form: forms.Form, error) -> None:
    """Put an ApplicationError's per-field messages on the form (else a form-wide error)."""
    errors = (error.extra or {}).get("errors") or {}
    placed = False
    for name, message in errors.items():
        target = name if name in form.fields else None
        if name == "marks":
            target = None
        form.add_error(target, message)
        placed = True
    if not placed:
        form.add_error(None, error.message)


class ReviewAcknowledgeForm(forms.Form):
    """The learner's "Got it" / "Helpful" / "Not helpful" buttons (``helpful`` is the
    pressed button's value) and an optional note. The length rule is the service's."""

    HELPFUL_VALUES = {"": None, "yes": True, "no": False}

    helpful = forms.ChoiceField(
        choices=[("", "Got it"), ("yes", "Helpful"), ("no", "Not helpful")], required=False
    )
    note = forms.CharField(required=False, strip=True, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_helpful(self):
        return self.HELPFUL_VALUES[self.cleaned_data.get("helpful") or ""]


class SavedReplyForm(forms.Form):
    """A saved reply's fields. The lab and who shares it are chosen when it is made and
    stay; the deliverables offered are those of the chosen lab. The rules (lengths, the
    lab on the cohort's path, staff-only sharing with all) are the service's."""

    ALL = "all"

    title = forms.CharField(
        label="Title", max_length=SavedReply.TITLE_MAX_LENGTH, help_text="What you pick it by."
    )
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown is supported. Inserted into the review box as written.",
    )
    lab = forms.TypedChoiceField(label="Lab", coerce=int)
    deliverable = forms.TypedChoiceField(
        label="Deliverable",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Leave on “Whole lab” for advice about the lab as a whole.",
    )
    scope = forms.ChoiceField(label="Share with")

    def __init__(self, *args, labs, cohorts, staff: bool, reply=None, lab_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.labs = {lab.pk: lab for lab in labs}
        self.cohorts = {str(c.pk): c for c in cohorts}
        self.reply = reply
        self.fields["lab"].choices = [("", "Choose a lab")] + [
            (lab.pk, f"{lab.track.name} · Week {lab.week} · {lab.title}") for lab in labs
        ]
        scopes = [(key, f"Mentors of {c.name}") for key, c in self.cohorts.items()]
        if staff:
            scopes.insert(0, (self.ALL, "Mentors of every cohort"))
        self.fields["scope"].choices = scopes
        if reply is not None:
            # Fixed once made: shown, not posted.
            for name in ("lab", "scope"):
                self.fields[name].required = False
                self.fields[name].disabled = True
            self.fields["lab"].choices = [(reply.lab_id, reply.lab.title)]
            self.fields["scope"].choices = [
                (
                    reply.cohort_id or self.ALL,
                    f"Mentors of {reply.cohort.name}"
                    if reply.cohort
                    else "Mentors of every cohort",
                )
            ]
            self.initial.update(
                {
                    "title": reply.title,
                    "body": reply.body,
                    "lab": reply.lab_id,
                    "deliverable": reply.deliverable,
                    "scope": reply.cohort_id or self.ALL,
                }
            )
            lab = reply.lab
        else:
            lab = self.labs.get(lab_id)
            if lab is not None:
                self.initial["lab"] = lab.pk
            if len(scopes) == 1:
                self.initial["scope"] = scopes[0][0]
        self.chosen_lab = lab
        deliverables = []
        if lab is not None:
            revision = lab.current_revision
            deliverables = list(revision.deliverables if revision else lab.deliverables or [])
        self.fields["deliverable"].choices = [("", "Whole lab")] + [
            (i, f"{i + 1}. {deliverable_text(item)}") for i, item in enumerate(deliverables)
        ]

    def clean(self):
        data = super().clean()
        if self.reply is None:
            lab_id = data.get("lab")
            data["lab"] = self.labs.get(lab_id) if lab_id else None
            if data["lab"] is None and "lab" not in self.errors:
                self.add_error("lab", "Choose a lab.")
            scope = data.get("scope")
            data["shared_with_all"] = scope == self.ALL
            data["cohort"] = self.cohorts.get(scope) if scope != self.ALL else None
        return data


class AwayForm(forms.Form):
    """Away mode: the last day away (a date on the viewer's calendar) and a note for the
    mentors who take over. The date and length rules are the service's."""

    away_until = forms.DateField(
        label="Last day away",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Choose the last day you are away.",
            "invalid": "Enter a date.",
        },
    )
    away_note = forms.CharField(
        label="Note for the mentors who take over",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
        help_text="Shown with each review handed over, e.g. who to ask meanwhile.",
    )
