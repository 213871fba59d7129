from django.db import migrations, models


class Migration(migrations.Migration):
    """Step 3 of 3: the key is required and unique; it replaces the LOWER(email) constraint."""

    dependencies = [
        ("accounts", "0003_i14a_email_key_fill"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="user",
            name="user_email_ci_unique",
        ),
        migrations.AlterField(
            model_name="user",
            name="email_key",
            field=models.CharField(editable=False, max_length=320, unique=True),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("email_key", ""), _negated=True),
                name="user_email_key_not_empty",
            ),
        ),
    ]
