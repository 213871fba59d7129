"""Runs inside Django against the bench database: picks the pages and accounts, counts queries.

`python bench/load/probe.py rows`     -> JSON: how many cohorts, learners, submissions

`python bench/load/probe.py plan`    -> JSON: {page: {url, accounts: [[email, password]]}}
`python bench/load/probe.py queries` -> JSON: {page: query count} for one request per page
(each page requested once to warm caches, then counted on the second request).
`python bench/load/probe.py mix N`    -> JSON: {"learner": [...], "mentor": [...]}: N accounts
of each role, spread over the demo cohorts, each with a session and the URLs it works with.
`python bench/load/probe.py mix-pages` -> JSON: the plan of the mix's six pages (one account
each), for `queries` and the one-at-a-time timings.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from cohorts.models import Cohort, Membership  # noqa: E402
from demo.seeding import DEMO_COHORT_PREFIX, PASSWORDS  # noqa: E402

# The cohort matrix's URL name is the dashboards app's to choose; take the first that exists.
MATRIX_NAMES = [
    "dashboard:staff-cohort",
    "dashboard:matrix",
    "dashboard:cohort_matrix",
    "dashboard:cohort",
    "dashboards:matrix",
    "cohorts:matrix",
    "cohorts:progress",
]
QUEUE_NAMES = ["submissions:queue", "dashboard:mentor"]


def _biggest_cohort() -> Cohort:
    return (
        Cohort.objects.filter(slug__startswith=DEMO_COHORT_PREFIX)
        .annotate(learners=Count("memberships", filter=Q(memberships__role="learner")))
        .order_by("-learners", "slug")
        .first()
    )


def _cohort_kwargs(name: str, cohort: Cohort) -> str:
    values = {
        "slug": cohort.slug,
        "cohort_slug": cohort.slug,
        "pk": cohort.pk,
        "cohort_id": cohort.pk,
    }
    for keys in ([], ["slug"], ["cohort_slug"], ["pk"], ["cohort_id"]):
        try:
            return reverse(name, kwargs={k: values[k] for k in keys})
        except NoReverseMatch:
            continue
    raise NoReverseMatch(name)


def _first_url(names, cohort=None):
    for name in names:
        try:
            return name, (_cohort_kwargs(name, cohort) if cohort else reverse(name))
        except NoReverseMatch:
            continue
    return None, None


def plan() -> dict:
    cohort = _biggest_cohort()
    learners = list(
        Membership.objects.filter(cohort__slug__startswith=DEMO_COHORT_PREFIX, role="learner")
        .order_by("cohort__slug", "user__email")
        .values_list("user__email", flat=True)
    )
    mentors = list(
        Membership.objects.filter(cohort__slug__startswith=DEMO_COHORT_PREFIX, role="mentor")
        .order_by("cohort__slug", "user__email")
        .values_list("user__email", flat=True)
    )
    cohort_mentors = list(
        Membership.objects.filter(cohort=cohort, role="mentor").values_list(
            "user__email", flat=True
        )
    )
    admin = User.objects.filter(is_staff=True, email__endswith="demo.cohortlabs.local").first()
    pages = {"healthz": {"url": reverse("healthz"), "accounts": [], "as": "anonymous"}}
    learner_accounts = [
        [e, PASSWORDS["learner"]] for e in learners[:: max(1, len(learners) // 20)][:20]
    ]
    pages["learner home"] = {
        "url": reverse("dashboard:learner"),
        "accounts": learner_accounts,
        "as": "learners",
    }
    name, url = _first_url(QUEUE_NAMES)
    pages["mentor queue"] = {
        "url": url,
        "url_name": name,
        "accounts": [[e, PASSWORDS["mentor"]] for e in mentors[:: max(1, len(mentors) // 20)][:20]],
        "as": "mentors",
    }
    name, url = _first_url(MATRIX_NAMES, cohort)
    if name and "staff" in name:
        viewers = [[admin.email, PASSWORDS["admin"]]] if admin else []
    else:
        viewers = [[e, PASSWORDS["mentor"]] for e in cohort_mentors]
    pages["cohort matrix"] = {
        "url": url,
        "url_name": name,
        "accounts": viewers,
        "as": ("staff" if name and "staff" in name else "its mentors") + f" ({cohort.slug})",
        "cohort_learners": cohort.learners if cohort else 0,
    }
    if cohort is not None and cohort_mentors:
        pages["mentor home + matrix"] = {
            "url": reverse("dashboard:mentor") + f"?cohort={cohort.pk}",
            "accounts": [[e, PASSWORDS["mentor"]] for e in cohort_mentors],
            "as": f"its mentors ({cohort.slug})",
        }
    pages["API submissions"] = {
        "url": "/api/v1/submissions/",
        "accounts": [[e, PASSWORDS["mentor"]] for e in mentors[:: max(1, len(mentors) // 20)][:20]],
        "as": "mentors",
    }
    return {k: v for k, v in pages.items() if v["url"]}


def signed_in_session(email: str) -> str:
    """A session for `email`, made as login() would, so the load run skips password hashing."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    user = User.objects.get(email=email)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def queries(pages: dict) -> dict:
    """Queries of each page drawn from scratch (its cached fragments dropped first) and of
    the same request again (served from the cache)."""
    from django.core.cache import cache

    counts = {}
    for page, spec in pages.items():
        client = Client()
        if spec["accounts"]:
            client.force_login(User.objects.get(email=spec["accounts"][0][0]))
        try:
            client.get(spec["url"])  # imports and template compilation happen once
            cache.clear()  # sessions survive: they are in the database too (cached_db)
            with CaptureQueriesContext(connection) as built:
                client.get(spec["url"])
            with CaptureQueriesContext(connection) as cached:
                response = client.get(spec["url"])
        except Exception as exc:  # a page being built: report it, measure the others
            counts[page] = {"queries": None, "status": f"error: {type(exc).__name__}: {exc}"}
            continue
        counts[page] = {
            "queries": len(cached.captured_queries),
            "queries_built": len(built.captured_queries),
            "status": response.status_code,
        }
    return counts


def mix_accounts(count: int) -> dict:
    """`count` learners and `count` mentors, spread evenly over the demo cohorts, with the
    pages each works with: a learner's lab page is the lab they touched last (and its thread
    takes their comments); a mentor's review page is an open submission of their cohort,
    assigned to them when they have one."""
    from submissions.models import Submission

    demo = Membership.objects.filter(cohort__slug__startswith=DEMO_COHORT_PREFIX, active=True)
    result = {"learner": [], "mentor": []}
    for role in result:
        ids = list(
            demo.filter(role=role)
            .order_by("cohort_id", "user_id")
            .values_list("user_id", "cohort_id", "cohort__slug")
        )
        picked = ids[:: max(1, len(ids) // count)][:count]
        for user_id, cohort_id, slug in picked:
            if role == "learner":
                work = (
                    Submission.objects.filter(learner_id=user_id, cohort_id=cohort_id)
                    .order_by("-last_activity_at", "-pk")
                    .first()
                )
                if work is None:
                    continue
                urls = {
                    "home": reverse("dashboard:learner"),
                    "lab": reverse(
                        "submissions:lab", kwargs={"cohort_id": cohort_id, "lab_id": work.lab_id}
                    ),
                    "schedule": reverse("cohorts:schedule", kwargs={"slug": slug}),
                    "comment_url": reverse("submissions:comment", kwargs={"pk": work.pk}),
                }
            else:
                open_work = Submission.objects.filter(
                    cohort_id=cohort_id, state__in=["submitted", "in_review"]
                ).exclude(learner_id=user_id)
                work = (
                    open_work.filter(assigned_to_id=user_id).order_by("submitted_at").first()
                    or open_work.order_by("submitted_at").first()
                )
                if work is None:
                    continue
                urls = {
                    "home": reverse("dashboard:mentor") + f"?cohort={cohort_id}",
                    "queue": reverse("submissions:queue"),
                    "review": reverse("submissions:review", kwargs={"pk": work.pk}),
                }
            email = User.objects.get(pk=user_id).email
            result[role].append({"email": email, **urls})
    return result


def mix_pages(accounts: dict) -> dict:
    """The six pages of the mix as `plan()` entries, each for the first account of its role."""
    pages = {}
    for role, names in (
        ("learner", ("home", "lab", "schedule")),
        ("mentor", ("home", "queue", "review")),
    ):
        chosen = accounts[role][:20]
        for name in names:
            pages[f"{role} {name}"] = {
                "url": chosen[0][name],
                "urls": [a[name] for a in chosen],
                "accounts": [[a["email"], PASSWORDS[role]] for a in chosen],
                "as": f"{len(chosen)} {role}s",
            }
    return pages


def rows() -> dict:
    from submissions.models import Submission

    demo = Cohort.objects.filter(slug__startswith=DEMO_COHORT_PREFIX)
    return {
        "cohorts": demo.count(),
        "learners": Membership.objects.filter(cohort__in=demo, role="learner").count(),
        "mentors": Membership.objects.filter(cohort__in=demo, role="mentor").count(),
        "submissions": Submission.objects.count(),
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["rows"]:
        print(json.dumps(rows()))
        sys.exit()
    if sys.argv[1:2] == ["mix"]:
        accounts = mix_accounts(int(sys.argv[2]))
        for entries in accounts.values():
            for entry in entries:
                entry["session"] = signed_in_session(entry["email"])
        print(json.dumps(accounts))
        sys.exit()
    if sys.argv[1:2] == ["mix-pages"]:
        planned = mix_pages(mix_accounts(20))
        if sys.argv[2:] == ["queries"]:
            print(json.dumps(queries(planned)))
        else:
            for spec in planned.values():
                spec["sessions"] = [signed_in_session(email) for email, _ in spec["accounts"]]
            print(json.dumps(planned))
        sys.exit()
    planned = plan()
    if sys.argv[1:] == ["queries"]:
        print(json.dumps(queries(planned)))
    else:
        for spec in planned.values():
            spec["sessions"] = [signed_in_session(email) for email, _ in spec["accounts"]]
        print(json.dumps(planned))
