"""LoadedBill: what each stream holds of each bill; IngestionRun.warnings.

Bills already stored are recorded from their cost lines, as ingestion records new ones.
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0004_seenrequest_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestionrun",
            name="warnings",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.CreateModel(
            name="LoadedBill",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stream", models.CharField(max_length=100)),
                ("provider", models.CharField(max_length=100)),
                ("billing_account_id", models.CharField(blank=True, max_length=200)),
                ("sub_account_id", models.CharField(blank=True, max_length=200)),
                ("billing_period_start", models.DateTimeField()),
                ("billing_currency", models.CharField(max_length=3)),
                ("rows", models.BigIntegerField()),
                (
                    "billed_cost",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=28),
                ),
                (
                    "effective_cost",
                    models.DecimalField(decimal_places=10, default=Decimal("0"), max_digits=28),
                ),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bills",
                        to="ingest.ingestionrun",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["billing_period_start", "provider", "billing_account_id"],
                        name="loadedbill_period",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "stream",
                            "provider",
                            "billing_account_id",
                            "sub_account_id",
                            "billing_period_start",
                            "billing_currency",
                        ),
                        name="loadedbill_one_per_stream",
                    )
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO ingest_loadedbill (run_id, stream, provider, billing_account_id,"
            " sub_account_id, billing_period_start, billing_currency, rows, billed_cost,"
            " effective_cost)"
            " SELECT run_id, stream, provider, billing_account_id, sub_account_id,"
            " billing_period_start, billing_currency, count(*), sum(billed_cost),"
            " sum(effective_cost) FROM ingest_costline GROUP BY 1, 2, 3, 4, 5, 6, 7",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
