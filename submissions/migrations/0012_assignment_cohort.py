"""Assignment.cohort: the submission's cohort on each assignment, for pick_mentor's lookups.

Added nullable, filled from each assignment's submission (work never changes cohort), then
made required; then the indexes of a mentor's load in a cohort.
"""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
UPDATE submissions_assignment
SET cohort_id = (
    SELECT s.cohort_id FROM submissions_submission s
    WHERE s.id = submissions_assignment.submission_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0005_h16u_cohort_lab_pins"),
        ("submissions", "0011_submission_cohort_active_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="cohort",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cohorts.cohort",
            ),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop, elidable=False),
        migrations.AlterField(
            model_name="assignment",
            name="cohort",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cohorts.cohort",
            ),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(
                fields=["mentor", "cohort", "assigned_at"], name="assignment_mentor_cohort_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(
                condition=models.Q(("ended_at__isnull", True)),
                fields=["mentor", "cohort"],
                name="assignment_open_by_mentor_idx",
            ),
        ),
    ]
