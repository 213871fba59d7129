from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing below every app: errors, Markdown, health checks. No models."""

    name = "core"

    def ready(self) -> None:
        # Before any URLconf is loaded: every app's routes use `<id:...>`.
        from . import converters

        converters.register()
