import django.db.models
from django.db import migrations, models

import accounts.identity


class Migration(migrations.Migration):
    """Step 1 of 3: the canonical e-mail key column, empty (nullable) until step 2 fills it."""

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_key",
            field=models.CharField(editable=False, max_length=320, null=True),
        ),
        migrations.AlterField(
            model_name="user",
            name="name",
            field=models.CharField(
                blank=True,
                max_length=150,
                validators=[accounts.identity.validate_display_name],
            ),
        ),
    ]
