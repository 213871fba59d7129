"""Step 2 of 3: fill User.email_key from each address with accounts.identity.email_key.

Two accounts whose addresses have the same key are one identity spelled twice (for example
`ada@example.com` and `ADA@ｅxample.com` with a full-width e, which the old LOWER(email)
constraint let exist side by side). The migration cannot decide which of them is the real
person, so it stops, changes nothing, and lists every clash for the operator to resolve
(change or remove one address of each group), then migrate again. Addresses that the rule
for new addresses would refuse are listed as a warning only: those accounts keep working.
"""

import sys
from collections import defaultdict

from django.db import migrations

from accounts.identity import email_canonical, email_key


class EmailKeyCollision(Exception):
    pass


def _report(lines: list[str]) -> None:
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def fill_email_keys(apps, schema_editor):
    from django.core.exceptions import ValidationError

    User = apps.get_model("accounts", "User")
    users = list(User.objects.order_by("pk").only("pk", "email", "last_login", "date_joined"))
    groups: dict[str, list] = defaultdict(list)
    refused = []
    for user in users:
        user.email_key = email_key(user.email)
        groups[user.email_key].append(user)
        try:
            email_canonical(user.email)
        except ValidationError:
            refused.append(user)
    clashes = {key: members for key, members in groups.items() if len(members) > 1}
    if clashes:
        lines = [
            "",
            f"accounts.0003: {len(clashes)} canonical e-mail key(s) shared by more than one "
            "account. Each group below is one address spelled several ways; keep one account "
            "per group (change the others' email, or merge and delete them), then run "
            "`manage.py migrate` again. Nothing was changed.",
        ]
        for key, members in sorted(clashes.items()):
            lines.append(f"  key {key!r}:")
            for user in members:
                last = f"{user.last_login:%Y-%m-%d}" if user.last_login else "never"
                lines.append(
                    f"    user id={user.pk} email={user.email!r} "
                    f"joined={user.date_joined:%Y-%m-%d} last_login={last}"
                )
        _report(lines)
        raise EmailKeyCollision(
            "Accounts share a canonical e-mail key: "
            + "; ".join(
                f"{key!r} <- " + ", ".join(f"id={u.pk} {u.email!r}" for u in members)
                for key, members in sorted(clashes.items())
            )
        )
    if refused:
        lines = [
            "",
            f"accounts.0003 warning: {len(refused)} existing address(es) would be refused for a "
            "new account (see docs/security.md, 'One e-mail identity'); they keep working:",
        ]
        lines += [f"    user id={u.pk} email={u.email!r}" for u in refused]
        _report(lines)
    User.objects.bulk_update(users, ["email_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_i14a_email_key_add"),
    ]

    operations = [
        migrations.RunPython(fill_email_keys, migrations.RunPython.noop, elidable=False),
    ]
