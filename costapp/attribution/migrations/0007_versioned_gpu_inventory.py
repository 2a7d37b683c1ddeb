"""The GPU inventory becomes versions (EffectiveDated), like the cost rules.

- Allocation carries the GPU type and count it was computed with (as it carries its pool), filled
  here from the inventory as it stands, so readers never re-join today's inventory for a past
  hour.
- GpuResource: resource_id is no longer unique; every existing row becomes the one version of
  its resource, since always. An exclusion constraint (btree_gist) keeps at most one version of
  a resource_id in force at any instant.
- GpuMapping: versions too, and it names its resource by the stable resource_id text instead of
  a foreign key to one version's row (which cascaded and tied the mapping to that version).

Backwards keeps, per resource and per mapping, the version in force now (else the latest).
"""

import django.db.models.deletion
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations, models

import costapp.attribution.models

FROM_HELP = "first hour this version applies (blank: since always)"
TO_HELP = "the hour a later version took over (blank: in force)"

BACKFILL_ALLOCATIONS = """
UPDATE attribution_allocation a SET gpu_type = g.gpu_type, gpu_count = greatest(g.gpu_count, 1)
FROM ingest_gpuresource g
WHERE g.resource_id = a.resource_id AND a.resource_id <> ''
"""

# The version kept when going back to one row per resource: in force now, else the latest.
_PREFERRED = """(SELECT k.id FROM {table} k WHERE {same}
   ORDER BY k.effective_to IS NULL DESC, k.effective_from DESC NULLS LAST, k.id DESC LIMIT 1)"""

# Foreign keys are checked at once: a deferred check left pending would refuse the ALTER TABLE
# of the next operation in the same transaction.
ONE_ROW_PER_RESOURCE = f"""
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE ingest_gpuresource SET supersedes_id = NULL;
DELETE FROM ingest_gpuresource r WHERE r.id <> {
    _PREFERRED.format(table="ingest_gpuresource", same="k.resource_id = r.resource_id")
};
SET CONSTRAINTS ALL DEFERRED;
"""

MAPPING_BY_TEXT = """
UPDATE ingest_gpumapping m SET billed_resource = r.resource_id
FROM ingest_gpuresource r WHERE r.id = m.resource_id
"""

MAPPING_BY_ROW = f"""
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE ingest_gpumapping SET supersedes_id = NULL;
DELETE FROM ingest_gpumapping WHERE effective_to IS NOT NULL;
UPDATE ingest_gpumapping m SET resource_id = {
    _PREFERRED.format(table="ingest_gpuresource", same="k.resource_id = m.billed_resource")
};
DELETE FROM ingest_gpumapping WHERE resource_id IS NULL;
SET CONSTRAINTS ALL DEFERRED;
"""


def _span(model_name: str) -> list:
    return [
        migrations.AddField(
            model_name=model_name,
            name="effective_from",
            field=models.DateTimeField(blank=True, help_text=FROM_HELP, null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name="effective_to",
            field=models.DateTimeField(blank=True, help_text=TO_HELP, null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name="supersedes",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=f"attribution.{model_name}",
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0006_gpu_inventory"),
    ]

    operations = [
        BtreeGistExtension(),
        # Allocations: the inventory they were computed with.
        migrations.AddField(
            model_name="allocation",
            name="gpu_type",
            field=models.CharField(blank=True, db_default="", default="", max_length=100),
        ),
        migrations.AddField(
            model_name="allocation",
            name="gpu_count",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL_ALLOCATIONS, migrations.RunSQL.noop, elidable=False),
        # Resources: versions, one in force at a time.
        migrations.AlterField(
            model_name="gpuresource", name="resource_id", field=models.TextField()
        ),
        *_span("gpuresource"),
        migrations.RunSQL(migrations.RunSQL.noop, ONE_ROW_PER_RESOURCE, elidable=False),
        migrations.AddConstraint(
            model_name="gpuresource",
            constraint=ExclusionConstraint(
                expressions=[
                    ("resource_id", "="),
                    (
                        costapp.attribution.models.TsTzRange("effective_from", "effective_to"),
                        "&&",
                    ),
                ],
                name="gpuresource_one_version_at_a_time",
            ),
        ),
        # Mappings: versions, naming the resource by its resource_id.
        migrations.AlterField(
            model_name="gpumapping",
            name="resource",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="mappings",
                to="attribution.gpuresource",
            ),
        ),
        *_span("gpumapping"),
        migrations.AddField(
            model_name="gpumapping",
            name="billed_resource",
            field=models.TextField(default=""),
        ),
        migrations.RunSQL(MAPPING_BY_TEXT, MAPPING_BY_ROW, elidable=False),
        migrations.RemoveField(model_name="gpumapping", name="resource"),
        migrations.RenameField(
            model_name="gpumapping", old_name="billed_resource", new_name="resource_id"
        ),
        migrations.AlterField(
            model_name="gpumapping",
            name="resource_id",
            field=models.TextField(help_text="the billed resource's id (GpuResource.resource_id)"),
        ),
    ]
