"""One search box over labs, people and submissions, each within what the viewer may open.

- **Labs**: the published curriculum (active labs of active tracks: the lab page opens for
  everyone signed in). A lab's *title* matches for everyone; its *text* (body and
  deliverables) only where the one rule, ``curriculum.permissions.lab_text_reader``, lets
  the viewer read it. So a lab whose unreleased text mentions the query is not found unless
  its title matches too. PostgreSQL: full-text search over the vectors the curriculum
  services store on each lab (``Lab.search_title``, ``Lab.search_text``, GIN-indexed; see
  ``curriculum.search``), ranked, plus a substring match on titles; other databases:
  ``icontains``.
- **People**: staff find everyone in any cohort (a learner links to their history in that
  cohort, a mentor to the cohort's member list); a mentor finds the learners of the cohorts
  they actively mentor (their history; fellow mentors have no page a mentor may open); a
  learner finds nobody (there is no page about another person a learner may open).
- **Submissions**: ``submissions.permissions.submissions_visible_to`` (own work; the
  cohorts one mentors; staff all), matched on the learner's name or e-mail and the lab title.

At most ``LIMIT`` results of each kind; a constant number of queries whatever the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Case, F, FloatField, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse

from accounts.models import User
from cohorts.models import Membership
from cohorts.selectors import active_membership_roles
from curriculum import search as lab_search
from curriculum.models import Lab
from curriculum.permissions import lab_text_reader
from submissions.models import Submission
from submissions.permissions import submissions_visible_to

MAX_QUERY_LENGTH = 200
LIMIT = 10
SEARCH_CONFIG = lab_search.SEARCH_CONFIG


@dataclass(frozen=True)
class Result:
    type: str  # "lab" | "person" | "submission"
    title: str
    url: str
    context: str = ""


@dataclass(frozen=True)
class Results:
    query: str
    labs: list[Result]
    people: list[Result]
    submissions: list[Result]

    @property
    def all(self) -> list[Result]:
        return [*self.labs, *self.people, *self.submissions]


def clean_query(raw: str | None) -> str:
    """The query as searched: whitespace collapsed, at most MAX_QUERY_LENGTH characters.
    (A NUL never gets here: core.middleware answers 400 to it for every path.)"""
    return " ".join((raw or "").split())[:MAX_QUERY_LENGTH]


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def search(user, raw_query: str | None) -> Results:
    """Everything the viewer may open that matches. An empty query finds nothing."""
    query = clean_query(raw_query)
    if not query or not _signed_in(user):
        return Results(query=query, labs=[], people=[], submissions=[])
    return Results(
        query=query,
        labs=_labs(user, query),
        people=_people(user, query),
        submissions=_submissions(user, query),
    )


# --- Labs ----------------------------------------------------------------------------------


def _published_labs():
    return Lab.objects.filter(active=True, track__active=True)


def _readable_lab_ids(user) -> list[int] | None:
    """Ids of the labs whose text the viewer may read (None: every lab).

    Only labs on the tracks of the viewer's active cohorts can be readable to a non-staff
    person; the one rule decides which of those (one query for the candidates, the rule's own
    two)."""
    if user.is_staff:
        return None
    readable = lab_text_reader(user)
    track_ids = Membership.objects.filter(user=user, active=True).values("cohort__track_id")
    candidates = _published_labs().filter(track_id__in=track_ids).only("id", "track_id", "week")
    return [lab.pk for lab in candidates if readable(lab)]


def _lab_text():
    return Coalesce(Cast("deliverables", TextField()), Value(""), output_field=TextField())


def _labs(user, query: str) -> list[Result]:
    readable_ids = _readable_lab_ids(user)
    text_allowed = Q() if readable_ids is None else Q(pk__in=readable_ids)
    labs = (
        _published_labs()
        .select_related("track")
        .only("id", "title", "slug", "week", "track__name", "track__slug")
    )
    if lab_search.is_stored():
        # The vectors stored by the curriculum services (GIN-indexed): no to_tsvector per
        # lab per search.
        search_query = SearchQuery(query, config=lab_search.SEARCH_CONFIG, search_type="websearch")
        text_rank = SearchRank(F("search_text"), search_query)
        if readable_ids is not None:
            # The text's rank counts only where the text may be read: no ordering side channel.
            text_rank = Case(When(text_allowed, then=text_rank), default=Value(0.0))
        labs = (
            labs.filter(
                Q(title__icontains=query)
                | Q(search_title=search_query)
                | (text_allowed & Q(search_text=search_query))
            )
            .annotate(
                rank=Value(2.0) * SearchRank(F("search_title"), search_query)
                + Cast(text_rank, FloatField())
            )
            .order_by("-rank", "track__name", "week", "pk")
        )
    else:
        labs = labs.annotate(text=_lab_text()).filter(
            Q(title__icontains=query)
            | (text_allowed & (Q(body__icontains=query) | Q(text__icontains=query)))
        )
        labs = labs.order_by("track__name", "week", "pk")
    return [
        Result(
            type="lab",
            title=lab.title,
            url=reverse(
                "curriculum:lab", kwargs={"track_slug": lab.track.slug, "lab_slug": lab.slug}
            ),
            context=f"{lab.track.name} · week {lab.week}",
        )
        for lab in labs[:LIMIT]
    ]


# --- People --------------------------------------------------------------------------------


def _people(user, query: str) -> list[Result]:
    memberships = Membership.objects.filter(active=True, user__is_active=True)
    if not user.is_staff:
        mentored = sorted(
            cohort_id
            for cohort_id, role in active_membership_roles(user).items()
            if role == Membership.Role.MENTOR
        )
        if not mentored:
            return []
        # Their learners: a fellow mentor has no page a mentor may open (the member list
        # is staff's).
        memberships = memberships.filter(cohort_id__in=mentored, role=Membership.Role.LEARNER)
    memberships = (
        memberships.filter(Q(user__name__icontains=query) | Q(user__email__icontains=query))
        .select_related("user", "cohort")
        .only("id", "role", "cohort__name", "cohort__slug", "user__name", "user__email")
        .order_by("user__name", "user__email", "cohort__name", "pk")
    )
    results = []
    for membership in memberships[:LIMIT]:
        person = membership.user
        if membership.role == Membership.Role.LEARNER:
            url = reverse(
                "dashboard:learner-history",
                kwargs={"cohort_id": membership.cohort_id, "user_id": person.pk},
            )
        else:
            url = reverse("cohorts:members", kwargs={"slug": membership.cohort.slug})
        results.append(
            Result(
                type="person",
                title=person.name or person.email,
                url=url,
                context=f"{membership.get_role_display()} · {membership.cohort.name}",
            )
        )
    return results


# --- Submissions ---------------------------------------------------------------------------


def _submissions(user, query: str) -> list[Result]:
    submissions = (
        Submission.objects.filter(submissions_visible_to(user))
        # Two small subqueries (people, labs) rather than conditions on the joined rows: on
        # the joins PostgreSQL tries every person against every lab before the submissions.
        .filter(
            Q(
                learner_id__in=User.objects.filter(
                    Q(name__icontains=query) | Q(email__icontains=query)
                ).values("pk")
            )
            | Q(lab_id__in=Lab.objects.filter(title__icontains=query).values("pk"))
        )
        .select_related("learner", "lab", "cohort")
        .only(
            "id",
            "state",
            "learner__name",
            "learner__email",
            "lab__title",
            "cohort__name",
        )
        .order_by("-pk")
    )
    return [
        Result(
            type="submission",
            title=f"{submission.lab.title} — {submission.learner.name or submission.learner.email}",
            url=reverse("submissions:detail", kwargs={"pk": submission.pk}),
            context=f"{submission.get_state_display()} · {submission.cohort.name}",
        )
        for submission in submissions[:LIMIT]
    ]
