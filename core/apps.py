from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing below every app: errors, Markdown, health checks. No models."""

    name = "core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .fragments import register_sqlite_functions

        connection_created.connect(register_sqlite_functions)
