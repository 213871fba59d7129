import time

from django.core.management.base import BaseCommand, CommandError

from demo.seeding import SERVICE_LEARNER_LIMIT, DemoError, seed_demo

HELP = f"""Make demo data: cohorts on the first active track, with an admin, mentors and learners.

Prints the demo accounts, one per line: ROLE EMAIL PASSWORD (all learners share one password,
all mentors another). Needs the curriculum imported first (manage.py import_curriculum).

Idempotent and safe: it only creates users at @demo.cohortlabs.local and cohorts whose slug
starts with "demo-"; running it again adds what is missing and changes nothing else (a learner
who already has submissions in a demo cohort is left alone). The same --seed gives the same
people, states and feedback.

The first cohort is mid-track (its last two labs still to come); further cohorts are older,
with every lab released. Learners are --progress of the way through their released labs:
earlier labs approved (some after a round of changes), the current one in any state.

How rows are written: with at most {SERVICE_LEARNER_LIMIT} learners in total, each learner's
current lab is played through the submissions services (submit, claim, comment, review), so
the demo has real events, notifications and threads; everything else (past weeks, and all of a
larger run) is written with bulk_create as the same rows those services leave: iterations,
reviews with marks, assignments ended by their review, and consistent timestamps and states.
Users are bulk-created with one password hash per role. 20 cohorts x 100 learners takes well
under a minute; --progress 1 at that size gives about 50,000 submissions.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        kwargs["formatter_class"] = RawDescriptionHelpFormatter
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--cohorts", type=int, default=1, help="Demo cohorts (default 1).")
        parser.add_argument(
            "--learners", type=int, default=5, help="Learners per cohort (default 5)."
        )
        parser.add_argument(
            "--mentors", type=int, default=2, help="Mentors per cohort (default 2)."
        )
        parser.add_argument(
            "--progress",
            type=float,
            default=0.9,
            help="How far (0 to 1) learners are through their released labs, on average "
            "(each learner within 0.15 of it; default 0.9).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--bulk",
            action="store_true",
            help="Write everything with bulk inserts, even for a small demo (no events).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        try:
            result = seed_demo(
                cohorts=options["cohorts"],
                learners=options["learners"],
                mentors=options["mentors"],
                progress=options["progress"],
                seed=options["seed"],
                use_services=False if options["bulk"] else None,
                log=(lambda message: self.stderr.write(message)) if verbose else (lambda m: None),
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        shown = result.accounts
        if len(shown) > 60:
            # Print the first cohort's people; the rest share the same passwords.
            shown = [a for a in shown if a.role == "admin" or ".c" not in a.email.split("@")[0]]
        for account in shown:
            self.stdout.write(f"{account.role} {account.email} {account.password}")
        hidden = len(result.accounts) - len(shown)
        summary = (
            f"Demo ready: {result.cohorts} cohort(s), {result.users_created} new user(s), "
            f"{result.submissions_created} new submission(s) "
            f"({result.service_submissions} through the services) in {time.monotonic() - started:.1f}s."
        )
        if hidden:
            summary += (
                f" {hidden} more accounts (learnerN.cK@…, mentorN.cK@…) share these passwords."
            )
        self.stderr.write(summary)
