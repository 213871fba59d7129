import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cohorts", "0002_invitations_enrollment_uploads"),
    ]

    operations = [
        migrations.AddField(
            model_name="cohort",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
