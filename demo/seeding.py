"""Demo data for Cohort Labs: users, cohorts, memberships and submissions in every state.

Everything made here is recognisable, so that a re-run finds it again and nothing else is
touched: users have an address at `DEMO_EMAIL_DOMAIN`, cohorts a slug starting `demo-`.

Cohorts and memberships are made by the cohorts services. Two ways of writing
submissions, giving the same rows:
- the recent work of a small demo (the lab each learner is on now) goes through the
  submissions services, so that events, notifications, assignments and threads are exactly
  what the product makes;
- history (labs approved in past weeks) and every submission of a large run are written with
  `bulk_create` as the rows those services would have left (iterations, reviews, assignments,
  timestamps on the cohort's schedule), which makes 20 cohorts x 100 learners in well under a
  minute instead of hours. Their state is never written by hand: each row is moved from
  draft along its plan's actions by the state machine (`submissions.state`), as the services
  move it, so a plan the machine refuses fails the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.identity import email_canonical, email_key
from accounts.models import User
from accounts.selectors import user_by_email_key
from cohorts.models import Cohort, Membership
from cohorts.selectors import cohort_schedule
from cohorts.services import cohort_create, membership_add
from curriculum.models import Lab, Track
from notifications.models import Event
from notifications.services import event_process
from submissions import services
from submissions import state as state_machine
from submissions.models import Assignment, Iteration, Review, Submission
from submissions.review_points import points_of
from submissions.validation import frozen_checklist

DEMO_EMAIL_DOMAIN = "demo.cohortlabs.local"
DEMO_COHORT_PREFIX = "demo-"
PASSWORDS = {
    "admin": "demo-admin-pass",
    "mentor": "demo-mentor-pass",
    "learner": "demo-learner-pass",
}
# Above this many learners in total, the recent work is bulk-written too (services make
# tens of queries per step: fine for a demo, hours for a load test).
SERVICE_LEARNER_LIMIT = 50
BATCH = 2000

STATES = Submission.State
# The state of the lab each learner is working on now. In the small demo learner j gets
# FRONTIER_CYCLE[j % 5], so that every state appears; larger runs draw with these weights.
FRONTIER_CYCLE = [
    STATES.SUBMITTED,
    STATES.IN_REVIEW,
    STATES.CHANGES_REQUESTED,
    STATES.DRAFT,
    STATES.APPROVED,
]
FRONTIER_WEIGHTS = {
    STATES.APPROVED: 4,
    STATES.SUBMITTED: 2,
    STATES.IN_REVIEW: 2,
    STATES.CHANGES_REQUESTED: 1.5,
    STATES.DRAFT: 1,
}

FEEDBACK_CHANGES = [
    "Nice start. The benchmark numbers are missing for the largest input; add them and say what limits it.",
    "The README does not say how to run it. Add the exact commands, then resubmit.",
    "Deliverable 2 is not met yet: the output should include the measured figures, not just the code.",
    "Good structure. Please handle the error case in the parser and add a test that shows it.",
]
FEEDBACK_APPROVE = [
    "Clear write-up and the measurements back the conclusion. Approved.",
    "All deliverables met. The explanation of the trade-off is excellent.",
    "Approved. Consider profiling the hot loop next time; the numbers suggest it is memory bound.",
    "Solid work, well tested. Approved.",
]
LEARNER_NOTES = [
    "Ran everything on my laptop; the numbers are in RESULTS.md.",
    "I was not sure about step 3, so I tried two approaches and compared them.",
    "Fixed the points from the review and added the missing measurements.",
    "",
]
FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
    "Edsger", "Radia", "John", "Katherine", "Guido", "Hedy", "Bjarne", "Sophie", "Tim",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie",
    "Allen", "Dijkstra", "Perlman", "Backus", "Johnson", "Rossum", "Lamarr", "Stroustrup",
]  # fmt: skip


class DemoError(Exception):
    """The demo cannot be made (e.g. no curriculum yet); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Account:
    role: str
    email: str
    password: str


@dataclasses.dataclass
class SeedResult:
    accounts: list[Account]
    cohorts: int
    users_created: int
    submissions_created: int
    service_submissions: int


@dataclasses.dataclass(frozen=True)
class Slot:
    lab: Lab
    release_at: dt.datetime
    due_at: dt.datetime


def demo_email(role: str, number: int, cohort_number: int) -> str:
    suffix = "" if cohort_number == 1 else f".c{cohort_number}"
    return f"{role}{number}{suffix}@{DEMO_EMAIL_DOMAIN}"


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def pick_track() -> Track:
    track = (
        Track.objects.filter(active=True, labs__active=True)
        .distinct()
        .order_by("position", "name", "pk")
        .first()
    )
    if track is None:
        raise DemoError(
            "No curriculum track with active labs exists. Import the curriculum first: "
            "python manage.py import_curriculum"
        )
    return track


def cohort_schedule_slots(cohort: Cohort) -> list[Slot]:
    """Release and due times of each lab, from the cohort's schedule."""
    return [
        Slot(lab=entry.lab, release_at=entry.release_at, due_at=entry.effective_due_at)
        for entry in cohort_schedule(cohort=cohort)
    ]


def _start_date(cohort_number: int, weeks: int, today: dt.date) -> dt.date:
    """The first demo cohort is mid-track (two weeks to go); the others have released every lab.

    The first cohort is the one people look at: its learners have upcoming due dates. The
    others are older cohorts, which is also what a load test at `--progress 1` needs (the
    whole track released: about 50,000 submissions for 20 x 100 learners).
    """
    if cohort_number == 1:
        current_week = max(1, weeks - 2)
        return today - dt.timedelta(days=7 * (current_week - 1) + 3)
    return today - dt.timedelta(days=7 * (weeks + cohort_number))


# --- plans --------------------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    kind: str  # "submit" | "claim" | "review"
    at: dt.datetime
    verdict: str = ""


@dataclasses.dataclass
class Plan:
    """What happened on one (learner, lab): the steps, in order, and the state they lead to."""

    learner: User
    mentor: User
    cohort: Cohort
    slot: Slot
    state: str
    steps: list[Step]
    recent: bool  # the lab the learner is working on now (service path in a small demo)
    seed: int


def plan_learner(
    *,
    rng: random.Random,
    learner: User,
    mentor: User,
    cohort: Cohort,
    slots: list[Slot],
    progress: float,
    frontier_state: str | None,
    now: dt.datetime,
) -> list[Plan]:
    released = [slot for slot in slots if slot.release_at <= now]
    count = len(released)
    if progress >= 1:
        target = count
    elif progress <= 0:
        target = 0
    else:
        # Learners differ: each is within 15 points of the cohort's `progress`.
        own = min(1.0, max(0.0, progress + rng.uniform(-0.15, 0.15)))
        target = round(own * count)
        target = min(count, max(1, target))
    plans = []
    # A learner `progress` of the way through spreads their work over the time so far: the
    # i-th lab is started no earlier than i/target of the way from the first release to now.
    first = released[0].release_at if released else now
    for index, slot in enumerate(released[:target]):
        paced_start = first + (now - first) * index / max(target, 1)
        is_frontier = index == target - 1
        if is_frontier:
            state = frontier_state or _weighted(rng, FRONTIER_WEIGHTS)
        elif index == target - 2 and rng.random() < 0.25:
            state = STATES.SUBMITTED  # waiting for review while the next lab goes on
        else:
            state = STATES.APPROVED
        steps = _steps_for(rng=rng, state=state, slot=slot, now=now, not_before=paced_start)
        plans.append(
            Plan(
                learner=learner,
                mentor=mentor,
                cohort=cohort,
                slot=slot,
                state=state,
                steps=steps,
                recent=is_frontier,
                seed=rng.randrange(1 << 30),
            )
        )
    return plans


def _weighted(rng: random.Random, weights: dict) -> str:
    states = list(weights)
    return rng.choices(states, weights=[weights[s] for s in states])[0]


def _steps_for(
    *, rng: random.Random, state: str, slot: Slot, now: dt.datetime, not_before: dt.datetime
) -> list[Step]:
    hour = dt.timedelta(hours=1)
    if rng.random() < 0.1:
        submitted = slot.due_at + hour * rng.uniform(4, 72)  # late
    else:
        window = max((slot.due_at - slot.release_at).total_seconds() / 3600 - 2, 1)
        submitted = slot.release_at + hour * rng.uniform(1, window)
    if submitted < not_before:
        submitted = not_before + hour * rng.uniform(1, 96)
    rework = rng.random() < 0.3
    steps: list[Step] = []
    if state == STATES.DRAFT:
        return steps
    steps.append(Step("submit", submitted))
    t = submitted
    if rework or state == STATES.CHANGES_REQUESTED:
        t += hour * rng.uniform(3, 60)
        steps.append(Step("claim", t))
        t += hour * rng.uniform(0.2, 3)
        steps.append(Step("review", t, Review.Verdict.REQUEST_CHANGES))
        if state != STATES.CHANGES_REQUESTED:
            t += hour * rng.uniform(6, 48)
            steps.append(Step("submit", t))
    if state in (STATES.IN_REVIEW, STATES.APPROVED):
        t += hour * rng.uniform(2, 40)
        steps.append(Step("claim", t))
    if state == STATES.APPROVED:
        t += hour * rng.uniform(0.2, 3)
        steps.append(Step("review", t, Review.Verdict.APPROVE))
    # Nothing happens in the future: squeeze the tail before now, keeping the order.
    cap = now - dt.timedelta(minutes=10)
    for step in reversed(steps):
        if step.at > cap:
            step.at = cap
        cap = step.at - dt.timedelta(minutes=5)
    return steps


# --- bulk writer --------------------------------------------------------------------------


def write_bulk(plans: list[Plan], *, now: dt.datetime) -> int:
    """Write plans as the rows the services would leave. Returns the submissions made."""
    made = 0
    for start in range(0, len(plans), BATCH):
        chunk = plans[start : start + BATCH]
        submissions = [_submission_row(plan, now=now) for plan in chunk]
        Submission.objects.bulk_create(submissions, batch_size=BATCH)
        iterations: list[tuple[Plan, Submission, Iteration, list[Step]]] = []
        assignments: list[Assignment] = []
        for plan, submission in zip(chunk, submissions, strict=True):
            iterations.extend(_iteration_rows(plan, submission))
            assignments.extend(_assignment_rows(plan, submission, now=now))
        Iteration.objects.bulk_create([row for _, _, row, _ in iterations], batch_size=BATCH)
        reviews = []
        for plan, submission, iteration, review_steps in iterations:
            rng = random.Random(plan.seed + iteration.number)
            for step in review_steps:
                approve = step.verdict == Review.Verdict.APPROVE
                reviews.append(
                    Review(
                        submission=submission,
                        iteration=iteration,
                        reviewer=plan.mentor,
                        verdict=step.verdict,
                        body=rng.choice(FEEDBACK_APPROVE if approve else FEEDBACK_CHANGES),
                        marks=_marks(plan.slot.lab, approve),
                        created_at=step.at,
                    )
                )
        Review.objects.bulk_create(reviews, batch_size=BATCH)
        Assignment.objects.bulk_create(assignments, batch_size=BATCH)
        made += len(submissions)
    return made


def _marks(lab: Lab, approve: bool) -> dict:
    count = len(lab.deliverables or [])
    marks = {str(i): "met" for i in range(count)}
    if not approve and count:
        marks[str(count - 1)] = "not_met"
    return marks


def _frozen_checklist(lab: Lab) -> list[dict]:
    """What an iteration keeps of the checklist (every deliverable ticked), as submit freezes it."""
    deliverables = lab.deliverables or []
    return frozen_checklist(list(range(len(deliverables))), deliverables)


def _replay(submission: Submission, plan: Plan) -> None:
    """Move a new row from draft along the plan's actions with the state machine, as the
    services do (`write_with_services`: a review of unclaimed work claims it first)."""
    for step in plan.steps:
        if step.kind == "submit":
            state_machine.apply(submission, "submit")
        elif step.kind == "claim" and submission.state == STATES.SUBMITTED:
            state_machine.apply(submission, "claim")
        elif step.kind == "review":
            if submission.state == STATES.SUBMITTED:
                state_machine.apply(submission, "claim")
            action = state_machine.verdict_action(submission.state, step.verdict)
            if action is not None:
                state_machine.apply(submission, action)
    if submission.state != plan.state:
        raise DemoError(f"A plan for {plan.slot.lab} ends in {submission.state}, not {plan.state}.")


def _submission_row(plan: Plan, *, now: dt.datetime) -> Submission:
    rng = random.Random(plan.seed)
    submits = [s for s in plan.steps if s.kind == "submit"]
    reviews = [s for s in plan.steps if s.kind == "review"]
    claims = [s for s in plan.steps if s.kind == "claim"]
    repo = f"https://git.example.org/{plan.learner.email.split('@')[0]}/{plan.slot.lab.slug}"
    created = min([s.at for s in plan.steps] or [now - dt.timedelta(hours=rng.uniform(1, 48))])
    created = min(created, max(plan.slot.release_at, created - dt.timedelta(hours=6)))
    last = plan.steps[-1].at if plan.steps else created
    sla = dt.timedelta(hours=plan.cohort.review_sla_hours)
    submission = Submission(
        learner=plan.learner,
        cohort=plan.cohort,
        lab=plan.slot.lab,
        repo_url=repo,
        commit_sha=f"{rng.getrandbits(160):040x}",
        notes=rng.choice(LEARNER_NOTES),
        checklist=list(range(len(plan.slot.lab.deliverables or []))),
        assigned_to=plan.mentor if submits else None,
        iteration_count=len(submits),
        first_submitted_at=submits[0].at if submits else None,
        submitted_at=submits[-1].at if submits else None,
        first_reviewed_at=reviews[0].at if reviews else None,
        is_late=bool(submits) and submits[0].at > plan.slot.due_at,
        last_activity_at=last,
        created_at=created,
    )
    _replay(submission, plan)
    state = submission.state
    if state in (STATES.SUBMITTED, STATES.IN_REVIEW):
        submission.review_due_at = submits[-1].at + sla
    if state == STATES.APPROVED:
        submission.approved_at = reviews[-1].at
    if state == STATES.IN_REVIEW and claims:
        submission.claimed_at = claims[-1].at
    return submission


def _iteration_rows(plan: Plan, submission: Submission):
    """(plan, submission, iteration, reviews of that iteration) for each submit step."""
    rows = []
    current: list | None = None
    for step in plan.steps:
        if step.kind == "submit":
            number = len(rows) + 1
            iteration = Iteration(
                submission=submission,
                number=number,
                repo_url=submission.repo_url,
                commit_sha=f"{random.Random(plan.seed + number).getrandbits(160):040x}",
                notes=submission.notes,
                checklist=_frozen_checklist(plan.slot.lab),
                lab_revision_id=plan.slot.lab.current_revision_id,
                submitted_at=step.at,
                due_at=plan.slot.due_at,
                is_late=step.at > plan.slot.due_at,
            )
            current = [plan, submission, iteration, []]
            rows.append(current)
        elif step.kind == "review" and current is not None:
            current[3].append(step)
    return [tuple(row) for row in rows]


def _assignment_rows(plan: Plan, submission: Submission, *, now: dt.datetime) -> list[Assignment]:
    """One assignment per submit, to the learner's mentor, ended by the review that answered it."""
    rows = []
    sla = dt.timedelta(hours=plan.cohort.review_sla_hours)
    for step in plan.steps:
        if step.kind == "submit":
            rows.append(
                Assignment(
                    submission=submission,
                    cohort_id=submission.cohort_id,
                    mentor=plan.mentor,
                    reason=Assignment.Reason.AUTO if not rows else Assignment.Reason.RESUBMIT,
                    assigned_at=step.at,
                    due_at=step.at + sla,
                )
            )
        elif step.kind == "review" and rows:
            rows[-1].ended_at = step.at
    return rows


# --- service writer -----------------------------------------------------------------------


def write_with_services(plan: Plan) -> Submission:
    """Play one plan through the submissions services (events and notifications included)."""
    rng = random.Random(plan.seed)
    lab = plan.slot.lab
    submission = services.submission_get_or_create_draft(
        learner=plan.learner, cohort=plan.cohort, lab=lab
    )
    repo = f"https://git.example.org/{plan.learner.email.split('@')[0]}/{lab.slug}"
    services.submission_save_draft(
        actor=plan.learner,
        submission=submission,
        repo_url=repo,
        commit_sha=f"{rng.getrandbits(160):040x}",
        notes=rng.choice(LEARNER_NOTES),
        checklist=list(range(len(lab.deliverables or []))),
    )
    for step in plan.steps:
        submission.refresh_from_db()
        if step.kind == "submit":
            if submission.state == STATES.CHANGES_REQUESTED:
                services.submission_save_draft(
                    actor=plan.learner,
                    submission=submission,
                    repo_url=repo,
                    commit_sha=f"{rng.getrandbits(160):040x}",
                    notes="Fixed the points from the review and added the missing measurements.",
                    checklist=list(range(len(lab.deliverables or []))),
                )
                submission.refresh_from_db()
                # Each review point is answered before handing in again.
                services.points_address(
                    actor=plan.learner,
                    submission=submission,
                    replies={
                        point.pk: "Done: see the new commit and the notes."
                        for point in points_of(submission).filter(state="open")
                    },
                )
            services.submission_submit(actor=plan.learner, submission=submission)
        elif step.kind == "claim":
            if submission.state == STATES.SUBMITTED:
                mentor = submission.assigned_to or plan.mentor
                services.submission_claim(actor=mentor, submission=submission)
        elif step.kind == "review":
            approve = step.verdict == Review.Verdict.APPROVE
            if submission.state == STATES.SUBMITTED:
                mentor = submission.assigned_to or plan.mentor
                services.submission_claim(actor=mentor, submission=submission)
                submission.refresh_from_db()
            mentor = submission.assigned_to or plan.mentor
            if not approve:
                services.comment_create(
                    actor=plan.learner,
                    submission=submission,
                    body="Could you look at the benchmark section in particular? I was not sure about it.",
                )
            services.review_create(
                actor=mentor,
                submission=submission,
                verdict=step.verdict,
                body=rng.choice(FEEDBACK_APPROVE if approve else FEEDBACK_CHANGES),
                marks=_marks(lab, approve),
            )
    submission.refresh_from_db()
    return submission


def process_pending_events(since: dt.datetime) -> None:
    """Deliver the in-app notifications of the events this run recorded, without a worker.

    `make run` seeds before the worker starts; the demo should open with a populated bell.
    Processing is idempotent, so the worker finding them later changes nothing.
    """
    ids = Event.objects.filter(processed_at__isnull=True, created_at__gte=since).values_list(
        "pk", flat=True
    )
    for event_id in list(ids):
        event_process(event_id=event_id)


# --- orchestration ------------------------------------------------------------------------


def seed_demo(
    *,
    cohorts: int = 1,
    learners: int = 5,
    mentors: int = 2,
    progress: float = 0.9,
    seed: int = 1,
    use_services: bool | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> SeedResult:
    """Make (or complete) the demo. Idempotent: existing demo rows are kept as they are."""
    if cohorts < 1 or learners < 0 or mentors < 1:
        raise DemoError("--cohorts and --mentors must be at least 1, --learners at least 0.")
    if not 0 <= progress <= 1:
        raise DemoError("--progress must be between 0 and 1.")
    track = pick_track()
    labs = list(
        Lab.objects.filter(track=track, active=True)
        .select_related("current_revision")
        .order_by("week", "position")
    )
    now = timezone.now()
    today = timezone.localdate()
    if use_services is None:
        use_services = cohorts * learners <= SERVICE_LEARNER_LIMIT

    with transaction.atomic():
        users_before = User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN).count()
        admin = _ensure_admin()
        # Hashed once per role (and only when someone is missing): every bulk user shares it.
        mentor_hash = _LazyHash(PASSWORDS["mentor"])
        learner_hash = _LazyHash(PASSWORDS["learner"])
        accounts = [Account("admin", admin.email, PASSWORDS["admin"])]
        recent: list[Plan] = []
        history: list[Plan] = []
        for number in range(1, cohorts + 1):
            cohort = _ensure_cohort(admin, number, track, len(labs), today)
            rng = random.Random(f"{seed}:cohort:{number}")
            mentor_users = _ensure_users("mentor", mentors, number, mentor_hash, rng)
            learner_users = _ensure_users("learner", learners, number, learner_hash, rng)
            _ensure_memberships(admin, cohort, mentor_users, Membership.Role.MENTOR)
            _ensure_memberships(admin, cohort, learner_users, Membership.Role.LEARNER)
            _ensure_saved_replies(admin, cohort, mentor_users[0], labs)
            accounts += [Account("mentor", u.email, PASSWORDS["mentor"]) for u in mentor_users]
            accounts += [Account("learner", u.email, PASSWORDS["learner"]) for u in learner_users]

            started = set(
                Submission.objects.filter(cohort=cohort, learner__in=learner_users)
                .values_list("learner_id", flat=True)
                .distinct()
            )
            slots = cohort_schedule_slots(cohort)
            small = cohorts * learners <= SERVICE_LEARNER_LIMIT
            for index, learner in enumerate(learner_users):
                if learner.pk in started:
                    continue  # already seeded: a re-run adds nothing
                learner_rng = random.Random(f"{seed}:{number}:{index}")
                plans = plan_learner(
                    rng=learner_rng,
                    learner=learner,
                    mentor=mentor_users[index % len(mentor_users)],
                    cohort=cohort,
                    slots=slots,
                    progress=progress,
                    frontier_state=FRONTIER_CYCLE[index % len(FRONTIER_CYCLE)] if small else None,
                    now=now,
                )
                for plan in plans:
                    (recent if plan.recent and use_services else history).append(plan)
        log(f"writing {len(history)} submissions in bulk")
        made = write_bulk(history, now=now)
        log(f"playing {len(recent)} submissions through the services")
        for plan in recent:
            write_with_services(plan)
        users_after = User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN).count()
    if recent:
        process_pending_events(now)
    return SeedResult(
        accounts=accounts,
        cohorts=cohorts,
        users_created=users_after - users_before,
        submissions_created=made + len(recent),
        service_submissions=len(recent),
    )


class _LazyHash:
    def __init__(self, password: str):
        self.password = password
        self.hashed: str | None = None

    def __str__(self) -> str:
        if self.hashed is None:
            self.hashed = make_password(self.password)
        return self.hashed


def _ensure_admin() -> User:
    email = f"admin@{DEMO_EMAIL_DOMAIN}"
    admin = user_by_email_key(email)
    if admin is None:
        admin = User.objects.create_superuser(
            email=email, password=PASSWORDS["admin"], name="Demo Admin"
        )
    elif not admin.check_password(PASSWORDS["admin"]):
        admin.set_password(PASSWORDS["admin"])
        admin.save(update_fields=["password"])
    return admin


def _ensure_cohort(admin: User, number: int, track: Track, weeks: int, today: dt.date) -> Cohort:
    slug = f"{DEMO_COHORT_PREFIX}{number}"
    cohort = Cohort.objects.filter(slug=slug).first()
    if cohort is None:
        cohort = cohort_create(
            actor=admin,
            slug=slug,
            name=f"Demo cohort {number}",
            track=track,
            start_date=_start_date(number, weeks, today),
            status=Cohort.Status.ACTIVE,
            time_zone="UTC",
            description="Demo data made by `manage.py seed_demo`.",
        )
    return cohort


def _ensure_users(
    role: str, count: int, cohort_number: int, password_hash: _LazyHash, rng
) -> list[User]:
    """The cohort's demo users of `role`, creating the missing ones with one bulk insert."""
    emails = [email_canonical(demo_email(role, n, cohort_number)) for n in range(1, count + 1)]
    names = [_person_name(rng) for _ in emails]  # drawn for all, so names do not depend on reruns
    keys = [email_key(email) for email in emails]
    existing = {u.email_key: u for u in User.objects.filter(email_key__in=keys)}
    missing = [
        User(email=email, email_key=key, name=name, password=str(password_hash))
        for email, key, name in zip(emails, keys, names, strict=True)
        if key not in existing
    ]
    if missing:
        User.objects.bulk_create(missing, batch_size=BATCH)
        existing = {u.email_key: u for u in User.objects.filter(email_key__in=keys)}
    return [existing[key] for key in keys]


def _ensure_memberships(admin: User, cohort: Cohort, users: list[User], role: str) -> None:
    """Enroll the missing ones through the service the members page uses (their accounts
    exist already, so nobody is sent an invitation)."""
    have = set(
        Membership.objects.filter(cohort=cohort, user__in=users).values_list("user_id", flat=True)
    )
    for user in users:
        if user.pk not in have:
            membership_add(actor=admin, cohort=cohort, email=user.email, name=user.name, role=role)


# A few saved replies per demo cohort (and one staff shared with every cohort), so the review
# page's menu and "/" picker have something to offer. Made once: a re-run adds nothing.
DEMO_SAVED_REPLIES = [
    (
        None,
        "Say what you tried",
        "Tell me what you tried and what happened: the command, "
        "its output, and what you expected instead.",
    ),
    (
        0,
        "First deliverable: show it running",
        "Add a short transcript or screenshot that "
        "shows the first deliverable working, so I can check it without setting it up.",
    ),
]


def _ensure_saved_replies(admin: User, cohort: Cohort, mentor: User, labs: list[Lab]) -> None:
    from submissions.models import SavedReply
    from submissions.saved_replies import saved_reply_create

    if not labs:
        return
    lab = labs[0]
    if not SavedReply.objects.filter(cohort=cohort).exists():
        deliverables = lab.current_revision.deliverables if lab.current_revision else []
        for deliverable, title, body in DEMO_SAVED_REPLIES:
            if deliverable is not None and deliverable >= len(deliverables):
                deliverable = None
            saved_reply_create(
                actor=mentor,
                lab=lab,
                cohort=cohort,
                deliverable=deliverable,
                title=title,
                body=body,
            )
    if not SavedReply.objects.filter(lab=lab, shared_with_all=True, author=admin).exists():
        saved_reply_create(
            actor=admin,
            lab=lab,
            shared_with_all=True,
            title="Re-read the brief",
            body="The lab's brief covers this: read its deliverables again and check each "
            "one against your work before you hand in.",
        )
