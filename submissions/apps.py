from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A mentor leaving a cohort hands over their open reviews in the same transaction
        # (cohorts may not import submissions; see docs/architecture.md).
        from cohorts.services import on_role_ended

        from .services import assignments_hand_over

        on_role_ended(assignments_hand_over)
