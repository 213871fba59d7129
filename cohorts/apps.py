from django.apps import AppConfig


class CohortsConfig(AppConfig):
    name = "cohorts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Curriculum's pages show a lab's text by the rule that lives here (it depends on
        # memberships and schedules, which curriculum may not import): see docs/architecture.md.
        from curriculum.impact import register_apply_hook, register_impact_provider
        from curriculum.permissions import register_lab_text_rule

        from .permissions import LabAccess
        from .selectors import impact_cohorts
        from .services import pins_for_import

        register_lab_text_rule(LabAccess)
        # An import's impact (the cohorts running a changed lab) and the per-cohort choice to
        # keep the current revisions (pins), inside the apply's transaction.
        register_impact_provider(impact_cohorts)
        register_apply_hook(pins_for_import)
