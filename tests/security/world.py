"""A small world of people and one learner's private work, made through the real services.

`owner` is a learner in cohort A with:
- `reviewed`: a submission submitted once (notes + attachment), claimed by A's mentor,
  reviewed with "request changes", commented on by the owner -> changes_requested;
- `submitted`: a second submission waiting in the mentor queue;
- an extension on the second lab, an API token, and the notifications the events made.
Attackers: `peer` (another learner of A), `outsider` (a learner of cohort B),
`other_mentor` (a mentor of cohort B). `MARKER` is written into everything private of the
owner's (notes, comment, review, attachment name, extension reason, token name) so a test can
prove none of it reaches an attacker's response.
"""

import datetime as dt
import secrets
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import (
    CohortFactory,
    LabFactory,
    MembershipFactory,
    MentorMembershipFactory,
    StaffFactory,
    TrackFactory,
    UserFactory,
)

MARKER = "OWNERSECRET" + secrets.token_hex(6)
CURRICULUM_SOURCE = "\n".join(
    [
        "Labs\u00b6",
        "An index of labs.",
        "Jump to a path\u00b6",
        "- Security Path",
        "Security Path\u00b6",
        "Week 1 - Basics - First Lab\u00b6",
        "Build it:",
        "1. Do the first thing.",
        "2. Do the second thing.",
    ]
).encode()

# A tiny valid PDF: attachments are typed by content, so it must look like one.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass
class World:
    owner: object
    peer: object
    outsider: object
    other_mentor: object
    mentor: object
    staff: object
    cohort: object
    other_cohort: object
    track: object
    labs: list
    reviewed: object
    submitted: object
    iteration: object
    attachment: object
    review: object
    comment: object
    extension: object
    api_token: object
    api_secret: str
    notifications: list
    extra: dict = field(default_factory=dict)

    def attackers(self) -> dict:
        return {
            "peer": self.peer,
            "outsider": self.outsider,
            "other_mentor": self.other_mentor,
        }


def build_world() -> World:
    from accounts.services import api_token_create
    from cohorts.services import extension_grant
    from submissions import services as sub

    track = TrackFactory()
    labs = [LabFactory(track=track, week=week) for week in (1, 2, 3)]
    # Started long enough ago that every lab is released.
    cohort = CohortFactory(track=track, start_date=timezone.localdate() - dt.timedelta(days=30))
    other_cohort = CohortFactory(track=track, start_date=cohort.start_date)
    owner = UserFactory(email="owner@example.com", name="Owner Learner")
    MembershipFactory(user=owner, cohort=cohort)
    peer = MembershipFactory(cohort=cohort).user
    mentor = MentorMembershipFactory(cohort=cohort).user
    outsider = MembershipFactory(cohort=other_cohort).user
    other_mentor = MentorMembershipFactory(cohort=other_cohort).user
    staff = StaffFactory()

    reviewed = sub.submission_get_or_create_draft(learner=owner, cohort=cohort, lab=labs[0])
    reviewed = _save_draft(sub, owner, reviewed, f"My private notes {MARKER}")
    attachment = sub.attachment_add(
        actor=owner,
        submission=reviewed,
        uploaded_file=SimpleUploadedFile(
            f"report-{MARKER}.pdf", PDF_BYTES, content_type="application/pdf"
        ),
    )
    iteration = sub.submission_submit(actor=owner, submission=reviewed)
    reviewed.refresh_from_db()
    if reviewed.assigned_to_id != mentor.pk:
        sub.submission_claim(actor=mentor, submission=reviewed)
        reviewed.refresh_from_db()
    review = sub.review_create(
        actor=mentor,
        submission=reviewed,
        verdict="request_changes",
        body=f"Review for the owner only {MARKER}",
        marks={},
        points=[{"text": f"A point for the owner only {MARKER}", "deliverable": None}],
    )
    comment = sub.comment_create(actor=owner, submission=reviewed, body=f"Owner comment {MARKER}")
    reviewed.refresh_from_db()
    attachment.refresh_from_db()

    submitted = sub.submission_get_or_create_draft(learner=owner, cohort=cohort, lab=labs[1])
    submitted = _save_draft(sub, owner, submitted, f"Second lab notes {MARKER}")
    sub.submission_submit(actor=owner, submission=submitted)
    submitted.refresh_from_db()

    extension = extension_grant(
        actor=mentor,
        cohort=cohort,
        lab=labs[2],
        learner=owner,
        due_at=timezone.now() + dt.timedelta(days=30),
        reason=f"Family matter {MARKER}",
    )
    api_token, api_secret = api_token_create(user=owner, name=f"laptop {MARKER}")
    notifications = list(owner.notifications.all())

    # Staff-made objects the attackers must not reach either.
    from cohorts.services import enrollment_preview, join_link_create, schedule_override_set
    from curriculum.services import import_preview

    join_link = join_link_create(actor=staff, cohort=cohort)
    override = schedule_override_set(
        actor=staff, cohort=cohort, lab=labs[2], due_at=timezone.now() + dt.timedelta(days=60)
    )
    enrollment = enrollment_preview(
        actor=staff,
        cohort=cohort,
        file=b"email,name,role\nnewcomer@example.com,New Comer,learner\n",
    ).upload
    curriculum_import = import_preview(actor=staff, source=CURRICULUM_SOURCE, filename="labs.txt")
    # A saved reply shared with cohort A's mentors: private to them (and staff).
    from submissions.saved_replies import saved_reply_create

    saved_reply = saved_reply_create(
        actor=mentor,
        lab=labs[0],
        cohort=cohort,
        title=f"Tip {MARKER}",
        body=f"Advice for cohort A's mentors {MARKER}",
    )
    return World(
        owner=owner,
        peer=peer,
        outsider=outsider,
        other_mentor=other_mentor,
        mentor=mentor,
        staff=staff,
        cohort=cohort,
        other_cohort=other_cohort,
        track=track,
        labs=labs,
        reviewed=reviewed,
        submitted=submitted,
        iteration=iteration,
        attachment=attachment,
        review=review,
        comment=comment,
        extension=extension,
        api_token=api_token,
        api_secret=api_secret,
        notifications=notifications,
        extra={
            "membership": owner.memberships.get(cohort=cohort),
            "join_link": join_link,
            "override": override,
            "enrollment": enrollment,
            "curriculum_import": curriculum_import,
            "saved_reply": saved_reply,
            "point": review.points.get(),
        },
    )


def _save_draft(sub, owner, submission, notes):
    result = sub.submission_save_draft(
        actor=owner,
        submission=submission,
        repo_url="https://github.com/owner/lab",
        commit_sha="a" * 40,
        notes=notes,
        checklist=list(range(len(submission.lab.deliverables))),
    )
    return result if result is not None else submission


def snapshot(world: World) -> dict:
    """What an attacker's request must never change: the owner's data and the cohort's."""
    from accounts.models import ApiToken
    from cohorts.models import Cohort, Extension, JoinLink, Membership, ScheduleOverride
    from curriculum.models import CurriculumImport, Lab
    from notifications.models import Notification
    from submissions.models import (
        Attachment,
        Comment,
        Iteration,
        Review,
        ReviewAcknowledgement,
        SavedReply,
        SavedReplyUse,
        Submission,
    )

    def rows(qs, *fields):
        return sorted(qs.values_list(*fields))

    owned = Submission.objects.filter(learner=world.owner)
    return {
        "submissions": rows(
            owned,
            "pk",
            "state",
            "notes",
            "repo_url",
            "assigned_to_id",
            "iteration_count",
            "checklist",
        ),
        "iterations": rows(Iteration.objects.filter(submission__in=owned), "pk", "notes"),
        "attachments": rows(
            Attachment.objects.filter(submission__in=owned),
            "pk",
            "iteration_id",
            "original_name",
            "file",
        ),
        "reviews": rows(Review.objects.filter(submission__in=owned), "pk", "verdict", "body"),
        "comments": rows(Comment.objects.filter(submission__in=owned), "pk", "body"),
        "acknowledgements": rows(
            ReviewAcknowledgement.objects.filter(review__submission__in=owned),
            "pk",
            "helpful",
            "note",
        ),
        "extensions": rows(Extension.objects.filter(learner=world.owner), "pk", "due_at", "reason"),
        "tokens": rows(ApiToken.objects.filter(user=world.owner), "pk", "name", "revoked_at"),
        "notifications": rows(Notification.objects.filter(recipient=world.owner), "pk", "read_at"),
        "memberships": rows(
            Membership.objects.filter(cohort=world.cohort), "pk", "user_id", "role", "active"
        ),
        "cohort": rows(Cohort.objects.filter(pk=world.cohort.pk), "pk", "name", "status"),
        "links": rows(JoinLink.objects.filter(cohort=world.cohort), "pk", "enabled"),
        "overrides": rows(
            ScheduleOverride.objects.filter(cohort=world.cohort), "pk", "release_at", "due_at"
        ),
        "imports": rows(CurriculumImport.objects.all(), "pk", "status"),
        "labs": rows(Lab.objects.all(), "pk", "title", "body", "active", "current_revision_id"),
        "saved_replies": rows(
            SavedReply.objects.all(), "pk", "title", "body", "deliverable", "usage_count"
        ),
        "saved_reply_uses": rows(SavedReplyUse.objects.all(), "pk"),
    }
