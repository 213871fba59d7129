"""Announcements: a message from staff or a mentor to the whole cohort."""

from django.db import transaction

from core.exceptions import ApplicationError
from notifications.events import record

from ..models import Announcement, Cohort
from ..permissions import can_announce

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 20_000


@transaction.atomic
def announcement_send(*, actor, cohort: Cohort, title: str, body: str) -> Announcement:
    """Post `title` and a Markdown `body` to every active member of the cohort.

    Staff or an active mentor of the cohort (else ``forbidden``). Both fields are required;
    the title is one line of at most 200 characters, the body at most 20,000 (errors name
    the field). The body is stored as written and shown only through the sanitizing
    renderer (`core.markdown.render_markdown`). Side effects: the `Announcement` row and
    event ``announcement.posted`` (after commit, each member is notified in the app and by
    e-mail as their preference for "Announcements" says; the author is not).
    """
    if not can_announce(actor, cohort):
        raise ApplicationError(
            "Only this cohort's mentors and staff can send announcements.", code="forbidden"
        )
    title = " ".join((title or "").split())
    body = (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Give the announcement a title."
    elif len(title) > MAX_TITLE_CHARS:
        errors["title"] = f"The title is longer than {MAX_TITLE_CHARS} characters."
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > MAX_BODY_CHARS:
        errors["body"] = f"The message is longer than {MAX_BODY_CHARS:,} characters."
    if errors:
        raise ApplicationError(
            next(iter(errors.values())), code="invalid", extra={"errors": errors}
        )
    announcement = Announcement.objects.create(cohort=cohort, author=actor, title=title, body=body)
    record(
        "announcement.posted",
        actor=actor,
        target=announcement,
        data={"cohort_id": cohort.pk, "title": title},
    )
    return announcement
