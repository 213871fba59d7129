from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing below every app: errors, Markdown, health checks. No models."""

    name = "core"
