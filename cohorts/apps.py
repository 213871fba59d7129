from django.apps import AppConfig


class CohortsConfig(AppConfig):
    name = "cohorts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Curriculum's pages show a lab's text by the rule that lives here (it depends on
        # memberships and schedules, which curriculum may not import): see docs/architecture.md.
        from curriculum.permissions import register_lab_text_rule

        from .permissions import LabAccess

        register_lab_text_rule(LabAccess)
