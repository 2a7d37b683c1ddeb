"""The GPU inventory moved to attribution/ (attribution 0006): drop it from ingest's state only.

The tables stay where they are, with their rows: attribution's models name them (db_table).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0010_costline_invoice_allocation"),
        ("attribution", "0006_gpu_inventory"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="GpuMapping"),
                migrations.DeleteModel(name="GpuResource"),
                migrations.DeleteModel(name="GpuPool"),
            ],
            database_operations=[],
        ),
    ]
