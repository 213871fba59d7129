from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Role home pages. Sits above every domain app and only reads their selectors."""

    name = "dashboards"
