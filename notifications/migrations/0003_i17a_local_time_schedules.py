"""Digests at 07:00 on each recipient's clock, due-soon reminders at fixed lead times.

The beat rows of the old schedule (daily at 07:00 UTC, due-soon hourly) are removed; beat
creates the new ones from config/celery.py at its next start (notifications/beat.py only
creates missing rows). A row kept under its old name would send every digest at 07:00 UTC.
"""

from django.db import migrations

OLD_ROWS = (
    "learners: due in 24 hours",
    "everyone: daily digest",
    "mentors: weekly digest",
    "staff: weekly SLA digest",
)


def remove_old_rows(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=OLD_ROWS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_delivery_bookkeeping"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(remove_old_rows, migrations.RunPython.noop)]
