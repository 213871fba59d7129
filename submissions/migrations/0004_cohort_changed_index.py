from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0003_open_queue_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="submission",
            index=models.Index(
                fields=["cohort", "updated_at"], name="submission_cohort_changed_idx"
            ),
        ),
    ]
