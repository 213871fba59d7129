"""The beat scheduler: django-celery-beat's database scheduler, seeded from code.

The stock scheduler writes `beat_schedule` over the database rows at every start, which
would undo what staff changed in the admin (interval, enabled). This one only creates the
rows that are missing; after that the admin is the source of truth.
"""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class CodeDefaultsScheduler(DatabaseScheduler):
    def update_from_dict(self, mapping):
        existing = set(
            PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True)
        )
        return super().update_from_dict({k: v for k, v in mapping.items() if k not in existing})
