from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The bell is on every page: pages cached by apps that may not import this one key
        # on its unread count through core.fragments (docs/architecture.md).
        from core.fragments import register_navigation_source

        from .selectors import unread_stamp

        register_navigation_source(unread_stamp)
