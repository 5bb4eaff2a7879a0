"""Two indexes every notification wrote and nothing read.

- Notification.body_sha256's (and on PostgreSQL its LIKE twin): no query looks a
  notification up by its hash.
- RecordOperation.call's own: the (call, -created_at) index serves the key's lookups. Only
  the index is dropped; the foreign key itself is left as it is, so the table is not
  scanned again to check it (as dropping and adding the constraint would).
"""

import django.db.models.deletion
from django.db import migrations, models


def call_indexes(schema_editor, model) -> list[str]:
    """The names of the plain indexes on exactly RecordOperation's call_id."""
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return [
        name
        for name, details in constraints.items()
        if details["index"]
        and details["columns"] == ["call_id"]
        and not (details["unique"] or details["primary_key"] or details["foreign_key"])
    ]


def drop_call_index(apps, schema_editor):
    model = apps.get_model("recordings", "RecordOperation")
    for name in call_indexes(schema_editor, model):
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_call_index(apps, schema_editor):
    model = apps.get_model("recordings", "RecordOperation")
    if not call_indexes(schema_editor, model):
        field = model._meta.get_field("call")
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0012_merge_20261202_0215"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="body_sha256",
            field=models.CharField(max_length=64),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="recordoperation",
                    name="call",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="operations",
                        to="recordings.call",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_call_index, create_call_index, elidable=False),
            ],
        ),
    ]
