"""The GPU inventory (pools, resources, telemetry mappings) moves here from ingest/.

State only: the tables keep their names (ingest_gpupool, ingest_gpuresource, ingest_gpumapping)
and their rows; ingest 0011 drops the models from ingest's state. The content types are
relabelled rather than recreated, so permissions granted on them (the Finance group) and the
admin's history keep pointing at the same rows, and the audit trail names the new label.
"""

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("gpupool", "gpuresource", "gpumapping")
LABELS = {"ingest.GpuPool", "ingest.GpuResource", "ingest.GpuMapping"}


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        # A content type already made under the new label (a half-done earlier attempt) wins;
        # the old one is then left for remove_stale_contenttypes.
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)
    change = apps.get_model("attribution", "ConfigChange")
    for label in LABELS:
        name = label.split(".")[1]
        change.objects.filter(model=f"{old}.{name}").update(model=f"{new}.{name}")


def forwards(apps, schema_editor) -> None:
    _relabel(apps, "ingest", "attribution")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, "attribution", "ingest")


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0005_effective_dated_configuration"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("ingest", "0009_run_attribution_error_and_running"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GpuPool",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=200, unique=True)),
                        ("provider", models.CharField(blank=True, max_length=100)),
                        ("region", models.CharField(blank=True, max_length=100)),
                    ],
                    options={"db_table": "ingest_gpupool"},
                ),
                migrations.CreateModel(
                    name="GpuResource",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("resource_id", models.TextField(unique=True)),
                        ("provider", models.CharField(blank=True, max_length=100)),
                        ("instance_type", models.CharField(blank=True, max_length=100)),
                        ("gpu_type", models.CharField(blank=True, max_length=100)),
                        ("gpu_count", models.PositiveIntegerField(default=1)),
                        ("region", models.CharField(blank=True, max_length=100)),
                        (
                            "pool",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="resources",
                                to="attribution.gpupool",
                            ),
                        ),
                    ],
                    options={"db_table": "ingest_gpuresource"},
                ),
                migrations.CreateModel(
                    name="GpuMapping",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "match_on",
                            models.CharField(
                                choices=[
                                    ("uuid", "Uuid"),
                                    ("hostname", "Hostname"),
                                    ("label", "Label"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("label_key", models.CharField(blank=True, max_length=200)),
                        ("value", models.CharField(max_length=500)),
                        ("priority", models.IntegerField(default=100)),
                        (
                            "resource",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="mappings",
                                to="attribution.gpuresource",
                            ),
                        ),
                    ],
                    options={"db_table": "ingest_gpumapping", "ordering": ["priority", "id"]},
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
