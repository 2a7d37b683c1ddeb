"""Hosted-model lines in every bill reader: model, token direction and tokens kept, money as
billed, every other line untouched."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db.models import Sum

from costapp.ingest.models import CostLine, RunStatus

from .billing_cases import csv_text, ingest_path

pytestmark = pytest.mark.django_db

HOSTED = ("hosted_provider", "hosted_model", "token_direction", "token_count")


def ingest_text(tmp_path, name: str, text: str, fmt: str):
    path = tmp_path / name
    path.write_text(text)
    run = ingest_path(path, fmt)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def lines(run) -> list[tuple]:
    return list(
        CostLine.objects.filter(run=run).order_by("source_row").values_list(*HOSTED, "billed_cost")
    )


CUR = {
    "bill/PayerAccountId": "111122223333",
    "bill/BillingPeriodStartDate": "2026-11-01T00:00:00Z",
    "bill/BillingPeriodEndDate": "2026-12-01T00:00:00Z",
    "lineItem/UsageAccountId": "444455556666",
    "lineItem/LineItemType": "Usage",
    "lineItem/UsageStartDate": "2026-11-03T10:00:00Z",
    "lineItem/UsageEndDate": "2026-11-03T11:00:00Z",
    "lineItem/ProductCode": "AmazonBedrock",
    "lineItem/UsageType": "USE1-Claude3.5Sonnet-input-tokens",
    "lineItem/Operation": "Usage",
    "lineItem/ResourceId": "",
    "lineItem/UsageAmount": "12.345",
    "lineItem/CurrencyCode": "USD",
    "lineItem/UnblendedCost": "0.037035",
    "lineItem/LineItemDescription": "Claude 3.5 Sonnet input tokens",
    "pricing/unit": "1K tokens",
    "product/ProductName": "Amazon Bedrock",
    "product/model": "",
    "product/region": "us-east-1",
}


def test_cur_bedrock_usage_types_keep_model_direction_and_tokens(tmp_path):
    rows = (
        {},
        {
            "lineItem/UsageType": "USE1-Claude3.5Sonnet-output-tokens",
            "lineItem/UsageAmount": "1.5",
            "lineItem/UnblendedCost": "0.0225",
        },
        {
            "lineItem/UsageType": "USE1-Claude3.5Sonnet-cache-read-input-token-count",
            "lineItem/UsageAmount": "100",
            "lineItem/UnblendedCost": "0.03",
        },
        {
            "lineItem/UsageType": "USE1-Claude3.5Sonnet-cache-write-input-token-count",
            "lineItem/UsageAmount": "0.0004",
            "lineItem/UnblendedCost": "0.0000015",
        },
        # The price list's model attribute names it where the export carries it.
        {
            "lineItem/UsageType": "USE1-Claude2.0-input-tokens",
            "product/model": "Claude 2.0",
            "lineItem/UsageAmount": "2",
            "lineItem/UnblendedCost": "0.016",
        },
        # An inference profile ARN names the exact model id.
        {
            "lineItem/UsageType": "USE1-Claude3Haiku-output-tokens",
            "lineItem/ResourceId": "arn:aws:bedrock:us-east-1:444455556666:inference-profile/"
            "us.anthropic.claude-3-haiku-20240307-v1:0",
            "lineItem/UsageAmount": "3",
            "lineItem/UnblendedCost": "0.00375",
        },
        # Marketplace-billed: a product code of its own, the model in the product name, units
        # of one token.
        {
            "lineItem/ProductCode": "prod-abc123xyz",
            "lineItem/UsageType": "USE1-MP:USE1_CacheReadInputTokenCount-Units",
            "product/ProductName": "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            "lineItem/UsageAmount": "250000",
            "pricing/unit": "Units",
            "lineItem/UnblendedCost": "0.075",
        },
        # Not tokens: provisioned throughput stays an ordinary line, as does EC2.
        {
            "lineItem/UsageType": "USE1-ProvisionedThroughput-ModelUnits",
            "pricing/unit": "Hours",
            "lineItem/UsageAmount": "1",
            "lineItem/UnblendedCost": "39.60",
        },
        {
            "lineItem/ProductCode": "AmazonEC2",
            "lineItem/UsageType": "USE1-BoxUsage:g5.12xlarge",
            "product/ProductName": "Amazon Elastic Compute Cloud",
            "pricing/unit": "Hrs",
            "lineItem/UsageAmount": "1",
            "lineItem/UnblendedCost": "5.672",
        },
    )
    run = ingest_text(tmp_path, "cur.csv", csv_text(CUR, rows), "cur")
    assert lines(run) == [
        ("bedrock", "Claude3.5Sonnet", "input", 12345, Decimal("0.037035")),
        ("bedrock", "Claude3.5Sonnet", "output", 1500, Decimal("0.0225")),
        ("bedrock", "Claude3.5Sonnet", "cache_read", 100000, Decimal("0.03")),
        ("bedrock", "Claude3.5Sonnet", "cache_write", 0, Decimal("0.0000015")),
        ("bedrock", "Claude 2.0", "input", 2000, Decimal("0.016")),
        (
            "bedrock",
            "us.anthropic.claude-3-haiku-20240307-v1:0",
            "output",
            3000,
            Decimal("0.00375"),
        ),
        ("bedrock", "Claude 3.5 Sonnet", "cache_read", 250000, Decimal("0.075")),
        ("", "", "", None, Decimal("39.60")),
        ("", "", "", None, Decimal("5.672")),
    ]
    total = CostLine.objects.filter(run=run).aggregate(s=Sum("billed_cost"))["s"]
    assert total == Decimal("45.4562865")


def test_cur2_reads_the_model_from_the_product_map(tmp_path):
    base = {
        "bill_payer_account_id": "111122223333",
        "bill_billing_period_start_date": "2026-11-01T00:00:00Z",
        "bill_billing_period_end_date": "2026-12-01T00:00:00Z",
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": "2026-11-03T10:00:00Z",
        "line_item_usage_end_date": "2026-11-03T11:00:00Z",
        "line_item_product_code": "AmazonBedrock",
        "line_item_usage_type": "EUC1-Llama3.1-70B-output-tokens",
        "line_item_resource_id": "",
        "line_item_usage_amount": "7.25",
        "line_item_currency_code": "EUR",
        "line_item_unblended_cost": "0.02175",
        "pricing_unit": "1K tokens",
        "product": json.dumps({"product_name": "Amazon Bedrock", "model": "Llama 3.1 70B"}),
    }
    run = ingest_text(tmp_path, "cur2.csv", csv_text(base, ({},)), "cur2")
    assert lines(run) == [("bedrock", "Llama 3.1 70B", "output", 7250, Decimal("0.02175"))]


GCP = {
    "billing_account_id": "000000-B0BBA4-940A77",
    "service.description": "Vertex AI",
    "sku.id": "A1B2-C3D4-E5F6",
    "sku.description": "Gemini 1.5 Pro Text Input - Predictions",
    "usage_start_time": "2026-11-03 10:00:00+00:00",
    "usage_end_time": "2026-11-03 11:00:00+00:00",
    "project.id": "inference-prod",
    "cost": "0.0125",
    "currency": "USD",
    "usage.amount": "10000",
    "usage.unit": "count",
    "invoice.month": "202611",
    "cost_type": "regular",
}


def test_gcp_vertex_ai_skus(tmp_path):
    rows = (
        {},
        {"sku.description": "Gemini 1.5 Pro Text Output - Predictions", "cost": "0.05"},
        {"sku.description": "Gemini 2.0 Flash Cached Input Text Tokens", "cost": "0.0001875"},
        # Priced per character, not per token: the direction stays, no token count.
        {
            "sku.description": "Gemini 1.0 Pro Text Input - Predictions",
            "usage.unit": "characters",
        },
        {"sku.description": "Gemini Context Cache Storage", "usage.unit": "hour"},
        {
            "service.description": "Compute Engine",
            "sku.description": "Nvidia Tesla A100 GPU running in Americas",
            "usage.unit": "seconds",
            "cost": "2.933908",
        },
    )
    run = ingest_text(tmp_path, "gcp.csv", csv_text(GCP, rows), "gcp")
    assert lines(run) == [
        ("vertex", "Gemini 1.5 Pro", "input", 10000, Decimal("0.0125")),
        ("vertex", "Gemini 1.5 Pro", "output", 10000, Decimal("0.05")),
        ("vertex", "Gemini 2.0 Flash", "cache_read", 10000, Decimal("0.0001875")),
        ("vertex", "Gemini 1.0 Pro", "input", None, Decimal("0.0125")),
        ("", "", "", None, Decimal("0.0125")),
        ("", "", "", None, Decimal("2.933908")),
    ]


AZURE = {
    "BillingAccountId": "12345678",
    "SubscriptionId": "sub-1",
    "Date": "11/3/2026",
    "MeterCategory": "Cognitive Services",
    "MeterSubCategory": "Azure OpenAI",
    "MeterName": "gpt-4o-0806-Inp-glbl Tokens",
    "MeterId": "m-1",
    "ProductName": "Azure OpenAI",
    "ResourceLocation": "EastUS",
    "ResourceId": "/subscriptions/sub-1/openai/acct",
    "Quantity": "2.5",
    "UnitOfMeasure": "1K",
    "CostInBillingCurrency": "0.00625",
    "BillingCurrencyCode": "USD",
    "ChargeType": "Usage",
}


def test_azure_openai_meters(tmp_path):
    rows = (
        {},
        {"MeterName": "gpt 4o 0513 Output global Tokens", "CostInBillingCurrency": "0.0375"},
        {"MeterName": "gpt 4o 1120 cached Inp glbl", "UnitOfMeasure": "1M", "Quantity": "0.5"},
        {"MeterName": "gpt-35-turbo4K-Outp-glbl", "Quantity": "1.25"},
        {"MeterName": "Provisioned Managed Global Unit", "UnitOfMeasure": "1 Hour"},
        {
            "MeterCategory": "Virtual Machines",
            "MeterSubCategory": "NCads A100 v4 Series",
            "ProductName": "Virtual Machines NCads A100 v4 Series",
            "MeterName": "NC24ads A100 v4",
            "UnitOfMeasure": "1 Hour",
        },
    )
    run = ingest_text(tmp_path, "azure.csv", csv_text(AZURE, rows), "azure")
    assert lines(run) == [
        ("azure_openai", "gpt-4o-0806", "input", 2500, Decimal("0.00625")),
        ("azure_openai", "gpt-4o-0513", "output", 2500, Decimal("0.0375")),
        ("azure_openai", "gpt-4o-1120", "cache_read", 500000, Decimal("0.00625")),
        ("azure_openai", "gpt-35-turbo", "output", 1250, Decimal("0.00625")),
        ("", "", "", None, Decimal("0.00625")),
        ("", "", "", None, Decimal("0.00625")),
    ]


FOCUS = {
    "ProviderName": "Microsoft",
    "BillingAccountId": "acct",
    "BillingPeriodStart": "2026-11-01 00:00:00",
    "BillingPeriodEnd": "2026-12-01 00:00:00",
    "ChargePeriodStart": "2026-11-03 00:00:00",
    "ChargePeriodEnd": "2026-11-04 00:00:00",
    "ChargeCategory": "Usage",
    "ChargeDescription": "",
    "ServiceName": "Azure OpenAI Service",
    "ResourceId": "/subscriptions/sub-1/openai/acct",
    "PricingUnit": "1K Tokens",
    "PricingQuantity": "3",
    "ConsumedQuantity": "3000",
    "ConsumedUnit": "Tokens",
    "BilledCost": "0.0075",
    "EffectiveCost": "0.0075",
    "BillingCurrency": "USD",
    "x_SkuMeterName": "gpt-4o-mini-0718-Inp-glbl Tokens",
    "x_SkuMeterSubcategory": "Azure OpenAI",
    "x_UsageType": "",
    "x_ServiceCode": "",
}


def test_focus_lines_of_azure_aws_and_google(tmp_path):
    rows = (
        {},
        # Consumed unit not tokens: PricingQuantity in PricingUnit instead.
        {
            "x_SkuMeterName": "gpt-4o-mini-0718-Outp-glbl Tokens",
            "ConsumedUnit": "",
            "ConsumedQuantity": "",
        },
        {
            "ProviderName": "AWS",
            "ServiceName": "Amazon Bedrock",
            "x_ServiceCode": "AmazonBedrock",
            "x_UsageType": "USW2-Claude3Haiku-output-tokens",
            "x_SkuMeterName": "",
            "x_SkuMeterSubcategory": "",
            "ConsumedUnit": "1K tokens",
            "ConsumedQuantity": "4",
        },
        {
            "ProviderName": "Google Cloud",
            "ServiceName": "Vertex AI",
            "ChargeDescription": "Gemini 1.5 Flash Text Output - Predictions",
            "x_SkuMeterName": "",
            "x_SkuMeterSubcategory": "",
            "ConsumedUnit": "count",
            "ConsumedQuantity": "800",
        },
        {
            "ServiceName": "Virtual Machines",
            "x_SkuMeterName": "NC24ads A100 v4",
            "x_SkuMeterSubcategory": "NCads A100 v4 Series",
            "ConsumedUnit": "Hours",
            "PricingUnit": "1 Hour",
        },
    )
    run = ingest_text(tmp_path, "focus.csv", csv_text(FOCUS, rows), "focus")
    assert lines(run) == [
        ("azure_openai", "gpt-4o-mini-0718", "input", 3000, Decimal("0.0075")),
        ("azure_openai", "gpt-4o-mini-0718", "output", 3000, Decimal("0.0075")),
        ("bedrock", "Claude3Haiku", "output", 4000, Decimal("0.0075")),
        ("vertex", "Gemini 1.5 Flash", "output", 800, Decimal("0.0075")),
        ("", "", "", None, Decimal("0.0075")),
    ]


def test_a_token_count_beyond_its_column_fails_at_its_line(tmp_path):
    from .billing_cases import assert_fails_cleanly

    ingest_text(tmp_path, "good.csv", csv_text(CUR, ({},)), "cur")
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text(CUR, ({}, {"lineItem/UsageAmount": "1" + "0" * 17})))
    run = assert_fails_cleanly(bad, "cur", line=3, column="token_count")
    assert "token_count" in run.error
