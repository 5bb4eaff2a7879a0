"""The indexes the lists' searches use: the caller's number, and a prefix of an id as the
lists show it (first 8 characters), in any letter case.

On SQLite the existing LOWER(graph_id) unique indexes already serve a prefix (searched as a
range there). PostgreSQL's LIKE 'x%' uses a btree only under the C collation or a
*_pattern_ops operator class, so it gets one index of LOWER(graph_id) text_pattern_ops per
table (LOWER returns text).
"""

from django.db import migrations, models

PREFIX_INDEXES = [
    ("operation_graph_id_prefix_idx", "recordings_recordoperation"),
    ("call_graph_id_prefix_idx", "recordings_call"),
]


def create_prefix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in PREFIX_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" (LOWER("graph_id") text_pattern_ops)'
        )


def drop_prefix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in PREFIX_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0005_state_labels"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="call",
            index=models.Index(fields=["caller_id"], name="call_caller_idx"),
        ),
        migrations.RunPython(create_prefix_indexes, drop_prefix_indexes, elidable=False),
    ]
