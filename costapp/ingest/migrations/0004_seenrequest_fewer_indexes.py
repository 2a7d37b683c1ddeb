"""SeenRequest keeps only the indexes something reads: every pushed request pays for each one.

- hour: nothing queries SeenRequest by hour (a pruning job can index it when one exists);
- request_id's varchar_pattern_ops copy, which Django adds to every varchar key for LIKE
  lookups: ids are only ever matched whole, by the primary key. Django does not track that
  index in its state, so it is dropped by name (the name hashes only table and column, so it
  is the same on every database; an AlterField later drops it IF EXISTS, so none is confused).

Together they took about 30% of the insert into ingest_seenrequest (bench.ingest, jsonl).
"""

from __future__ import annotations

from django.db import migrations, models

LIKE_INDEX = "ingest_seenrequest_request_id_1ab274d9_like"


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0003_run_attributed_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="seenrequest",
            name="hour",
            field=models.DateTimeField(),
        ),
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {LIKE_INDEX}",
            reverse_sql=(
                f"CREATE INDEX IF NOT EXISTS {LIKE_INDEX}"
                " ON ingest_seenrequest (request_id varchar_pattern_ops)"
            ),
        ),
    ]
