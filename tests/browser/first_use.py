"""Demo-like data for the first-use browser tests: the seeded demo cohort plus people with
the long names and e-mail addresses real cohorts have, a CSV enrolment waiting for review,
and hand-ins from those people in the mentors' queue."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from cohorts import services as cohort_services
from cohorts.models import Cohort, Membership
from curriculum.models import Lab
from demo.seeding import seed_demo
from submissions import services as submission_services

from .conftest import CURRICULUM

LONG_PEOPLE = [
    (
        "Maximiliana Oyelaran-Vandenberghe",
        "maximiliana.oyelaran-vandenberghe@applied-sciences.example.edu",
    ),
    (
        "Bartholomew Kowalczyk-Featherstonehaugh",
        "b.kowalczyk-featherstonehaugh@research-institute.example.org",
    ),
]
CSV = (
    "email,name,role\n"
    "alexandria.papadopoulou-rasmussen@continuing-education.example.com,Alexandria Papadopoulou-Rasmussen,learner\n"
    "learner1@demo.cohortlabs.local,,learner\n"
    "christopher.nakamura-oyelowo@mentoring-collective.example.net,Christopher Nakamura-Oyelowo,mentor\n"
)


@pytest.fixture
def first_use(live_server):
    call_command("import_curriculum", str(CURRICULUM), verbosity=0)
    seed_demo()
    cohort = Cohort.objects.select_related("track").get(slug="demo-1")
    admin = User.objects.get(email="admin@demo.cohortlabs.local")
    labs = list(Lab.objects.filter(track=cohort.track, active=True).order_by("week"))
    people = []
    for name, email in LONG_PEOPLE:
        person = User.objects.create_user(email=email, password="long-name-pass-123", name=name)
        Membership.objects.create(user=person, cohort=cohort, role=Membership.Role.LEARNER)
        people.append(person)
    now = timezone.now()
    for person in people:
        submission = submission_services.submission_get_or_create_draft(
            learner=person, cohort=cohort, lab=labs[0]
        )
        submission_services.submission_save_and_submit(
            actor=person,
            submission=submission,
            repo_url=f"https://git.example.org/{person.pk}/first-lab",
            commit_sha="",
            notes="",
            checklist=[],
        )
    cohort_services.extension_grant(
        actor=admin,
        cohort=cohort,
        learner=people[0],
        lab=labs[1],
        due_at=now + dt.timedelta(days=30),
        reason="Parental leave agreed with the programme office",
    )
    cohort_services.join_link_create(actor=admin, cohort=cohort)
    upload = cohort_services.enrollment_preview(
        actor=admin, cohort=cohort, file=CSV.encode(), filename="spring-intake.csv"
    ).upload
    return {"cohort": cohort, "admin": admin, "people": people, "labs": labs, "upload": upload}
