from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A mentor leaving a cohort hands over their open reviews in the same transaction
        # (cohorts may not import submissions; see docs/architecture.md).
        from cohorts.services import on_mentor_room, on_role_ended

        from .services import assignments_hand_over
        from .services.assignments import mentor_room_fill

        on_role_ended(assignments_hand_over)

        # An import's preview lists the work on the labs it changes (curriculum.impact).
        # ... and its apply keeps saved replies on their deliverables, in its transaction.
        from curriculum.impact import register_apply_hook, register_impact_provider

        from .impact import impact_work, saved_replies_for_import

        register_impact_provider(impact_work)
        register_apply_hook(saved_replies_for_import)

        # A mentor joined or came back, or a capacity rose: waiting work is assigned after
        # commit (submissions.assign_waiting_work).
        on_mentor_room(mentor_room_fill)
