# The rule tallies gain the machine's kind (VM, Arc machine, scale-set instance), so that each
# OS-configuration recommendation's Failed rules tab reads them instead of grouping open findings.
# The rows are counted again from the findings under the new key, in the database.

from typing import Any

from django.db import migrations, models

COUNTS = """SUM(CASE WHEN f.state = 'open' THEN 1 ELSE 0 END),
    SUM(CASE WHEN f.state IN ('passed', 'resolved') THEN 1 ELSE 0 END), COUNT(*)"""


def recount(apps: Any, schema_editor: Any) -> None:
    quote = schema_editor.connection.ops.quote_name
    rule, tower, machine, finding, resource = (
        quote(apps.get_model(app, name)._meta.db_table)
        for app, name in (
            ("recommendations", "RuleTally"),
            ("recommendations", "TowerRuleTally"),
            ("recommendations", "TowerMachine"),
            ("recommendations", "Finding"),
            ("posture", "Resource"),
        )
    )
    columns = "machine_os, machine_kind, rule_id, open_count, passing_count, evaluated_count"
    statements = [
        f"DELETE FROM {rule}",  # noqa: S608 (table names from the models)
        f"""INSERT INTO {rule} (subscription_id, {columns})
            SELECT r.subscription_id, r.os, r.kind, f.rule_id, {COUNTS}
            FROM {finding} f JOIN {resource} r ON r.id = f.resource_id
            GROUP BY r.subscription_id, r.os, r.kind, f.rule_id""",  # noqa: S608
        f"DELETE FROM {tower}",  # noqa: S608
        f"""INSERT INTO {tower} (tower_id, subscription_id, {columns})
            SELECT t.tower_id, r.subscription_id, r.os, r.kind, f.rule_id, {COUNTS}
            FROM {machine} t JOIN {resource} r ON r.id = t.resource_id
            JOIN {finding} f ON f.resource_id = t.resource_id
            GROUP BY t.tower_id, r.subscription_id, r.os, r.kind, f.rule_id""",  # noqa: S608
    ]
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("posture", "0009_i18_cloud_scopes"),
        ("recommendations", "0011_i17_tower_tiles"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ruletally",
            name="one_tally_per_key",
        ),
        migrations.RemoveConstraint(
            model_name="towerruletally",
            name="one_tower_tally_per_key",
        ),
        migrations.AddField(
            model_name="ruletally",
            name="machine_kind",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="towerruletally",
            name="machine_kind",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddConstraint(
            model_name="ruletally",
            constraint=models.UniqueConstraint(
                fields=("subscription", "rule", "machine_os", "machine_kind"), name="one_rule_tally_per_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="towerruletally",
            constraint=models.UniqueConstraint(
                fields=("tower_id", "subscription", "rule", "machine_os", "machine_kind"),
                name="one_tower_rule_tally_per_key",
            ),
        ),
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
