# The audit log moved to the audit app (audit/migrations/0001_initial.py takes the model over); the
# table and its rows stay, so only Django's state forgets the model here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_api_tokens"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
