"""Drafts start with the files of the latest iteration (issue 18).

Submitting now leaves a copy of the handed-in file rows as the next draft's files (rows
naming the same stored file). Work handed in before that has an empty draft; give it the
copies it would have had. Work whose draft already has files keeps just those.
"""

from django.db import migrations


def carry_over(apps, schema_editor):
    Attachment = apps.get_model("submissions", "Attachment")
    Submission = apps.get_model("submissions", "Submission")
    with_drafts = Attachment.objects.filter(iteration__isnull=True).values("submission_id")
    pending = Submission.objects.filter(iteration_count__gt=0).exclude(pk__in=with_drafts)
    for submission_id, number in pending.values_list("pk", "iteration_count").iterator():
        Attachment.objects.bulk_create(
            Attachment(
                submission_id=submission_id,
                file=a.file.name,
                original_name=a.original_name,
                content_type=a.content_type,
                size=a.size,
                uploaded_by_id=a.uploaded_by_id,
                created_at=a.created_at,
            )
            for a in Attachment.objects.filter(
                submission_id=submission_id, iteration__number=number
            )
        )


class Migration(migrations.Migration):
    dependencies = [("submissions", "0004_cohort_changed_index")]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
