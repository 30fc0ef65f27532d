# The audit log moved here from governance: the table governance_auditevent and its rows stay as they
# are; only Django's record of which app owns the model changes.

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps: Any, schema_editor: Any) -> None:
    # Permissions and admin log entries point at the model's content type: it moves with the model.
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="audit", model="auditevent").exists():
        content_type.objects.filter(app_label="governance", model="auditevent").update(app_label="audit")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("governance", "0003_api_tokens"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("actor_name", models.CharField(blank=True, default="", max_length=150)),
                        ("action", models.CharField(db_index=True, max_length=40)),
                        ("object_type", models.CharField(blank=True, default="", max_length=40)),
                        ("object_id", models.CharField(blank=True, default="", max_length=64)),
                        ("summary", models.TextField(blank=True, default="")),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "governance_auditevent",
                        "ordering": ["-at", "-pk"],
                        "indexes": [
                            models.Index(
                                fields=["object_type", "object_id"], name="governance__object__d13f94_idx"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
