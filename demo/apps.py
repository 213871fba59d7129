from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`seed_demo`: demo data made through the other apps' services. Above every app."""

    name = "demo"
