"""factory-boy factories for every model. Apps' tests may add their own beside their tests."""

import datetime as dt
import hashlib

import factory
from django.utils import timezone

from accounts.identity import email_key
from accounts.models import User
from cohorts.models import Cohort, Membership
from curriculum.models import Lab, LabRevision, Track
from curriculum.search import lab_search_refresh
from submissions.models import Submission

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    email_key = factory.LazyAttribute(lambda user: email_key(user.email))
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    name = factory.Sequence(lambda n: f"Track {n}")
    slug = factory.Sequence(lambda n: f"track-{n}")
    position = factory.Sequence(int)


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab
        skip_postgeneration_save = True

    track = factory.SubFactory(TrackFactory)
    week = factory.Sequence(lambda n: n + 1)
    module_title = factory.Sequence(lambda n: f"Module {n}")
    title = factory.Sequence(lambda n: f"Lab {n}")
    slug = factory.Sequence(lambda n: f"lab-{n}")
    body = "1. Do the first thing.\n2. Do the second thing."
    deliverables = factory.LazyFunction(lambda: ["Do the first thing.", "Do the second thing."])
    position = factory.SelfAttribute("week")

    @factory.post_generation
    def with_revision(obj, create, extracted, **kwargs):
        """Every lab gets its first revision, as an import would make it."""
        if not create or extracted is False:
            return
        content = f"{obj.title}\n{obj.body}\n{obj.deliverables}"
        revision = LabRevision.objects.create(
            lab=obj,
            number=1,
            module_title=obj.module_title,
            title=obj.title,
            body=obj.body,
            deliverables=obj.deliverables,
            content_hash=hashlib.sha256(content.encode()).hexdigest(),
        )
        obj.current_revision = revision
        obj.save(update_fields=["current_revision"])

    @factory.post_generation
    def search_vectors(obj, create, extracted, **kwargs):
        """The stored search vectors, as the import and edit services write them."""
        if create and extracted is not False:
            lab_search_refresh([obj.pk])


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    name = factory.Sequence(lambda n: f"Cohort {n}")
    slug = factory.Sequence(lambda n: f"cohort-{n}")
    track = factory.SubFactory(TrackFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=14))
    time_zone = "UTC"
    status = Cohort.Status.ACTIVE


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    cohort = factory.SubFactory(CohortFactory)
    role = Membership.Role.LEARNER


class MentorMembershipFactory(MembershipFactory):
    role = Membership.Role.MENTOR


class SubmissionFactory(factory.django.DjangoModelFactory):
    """A draft. Move it through states with submissions.services, not by setting `state`."""

    class Meta:
        model = Submission

    learner = factory.SubFactory(UserFactory)
    cohort = factory.SubFactory(CohortFactory)
    lab = factory.SubFactory(LabFactory, track=factory.SelfAttribute("..cohort.track"))
    repo_url = "https://github.com/example/lab"


def hand_in(cohort: Cohort, lab: Lab, learner: User | None = None, *, sha: str = "abc1234"):
    """Work handed in through the services, as a learner does: a draft of `lab` (by a new
    learner of `cohort` unless `learner` is given) with a repository and a commit, then
    submitted. Returns the submission, fresh from the database."""
    from submissions import services

    learner = learner or MembershipFactory(cohort=cohort).user
    submission = services.submission_get_or_create_draft(learner=learner, cohort=cohort, lab=lab)
    services.submission_save_draft(
        actor=learner,
        submission=submission,
        repo_url="https://github.com/ada/lab",
        commit_sha=sha,
        notes="",
        checklist=[],
    )
    services.submission_submit(actor=learner, submission=submission)
    submission.refresh_from_db()
    return submission
