from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing below every app: errors, Markdown, health checks. No models."""

    name = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import converters
        from .fragments import register_sqlite_functions

        # Before any URLconf is loaded: every app's routes use `<id:...>`.
        converters.register()
        connection_created.connect(register_sqlite_functions)
