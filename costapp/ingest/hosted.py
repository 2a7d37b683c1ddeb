"""Hosted-model lines: which billing lines pay for tokens of a hosted model, and the key that
matches a billed model id to the model names request logs carry.

A cloud bill names a hosted model in its own way: Bedrock in the usage type
(`USE1-Claude3.5Sonnet-input-tokens`) or, for Marketplace-billed models, in the product name
("Claude 3.5 Sonnet (Amazon Bedrock Edition)"); Vertex AI in the SKU description ("Gemini 1.5
Pro Text Input - Predictions"); Azure OpenAI in the meter ("gpt-4o-0806-Inp-glbl 1K Tokens").
Gateways log "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0", "gpt-4o-2024-08-06" or
"gemini-1.5-pro-002". `model_key` brings all of them to one key; `recognise` reads a line's
texts and returns the model, token direction and token count, or None for every other line.

The rules are tables (BEDROCK_*, VERTEX_*, AZURE_*), each with where its pattern comes from.
Readers call `recognise` where they build a row and copy its answer onto the row
(`HostedLine.apply`); money stays exactly as billed, only the four hosted columns are set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

# --- model_key -------------------------------------------------------------------------------

# Bedrock cross-region inference profiles prefix the model id with a geography
# (docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html).
REGION_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "ap.", "jp.", "au.", "ca.", "global.")
# Bedrock model ids are "<vendor>.<model>" (docs.aws.amazon.com/bedrock/latest/userguide/
# models-supported.html); a dot also occurs inside names ("gpt-3.5"), hence a list, not a rule.
VENDOR_PREFIXES = (
    "anthropic.",
    "meta.",
    "amazon.",
    "cohere.",
    "ai21.",
    "mistral.",
    "stability.",
    "deepseek.",
    "writer.",
    "openai.",
    "qwen.",
    "twelvelabs.",
    "luma.",
)
# Trailing parts that name a revision of the same model, stripped until none is left.
VERSION_SUFFIXES = (
    re.compile(r":\d+k$"),  # Bedrock context-window variant: "...-v1:0:200k"
    re.compile(r"-v\d+:\d+$"),  # Bedrock version: "-v1:0", "-v2:0"
    re.compile(r":\d+$"),  # "claude-v2:1"
    re.compile(r"@[^@]*$"),  # Vertex AI: "claude-3-5-sonnet@20240620", "gemini-1.0-pro@001"
    re.compile(r"-latest$"),  # Anthropic/OpenAI aliases: "claude-3-5-sonnet-latest"
    re.compile(r"-20\d\d-\d\d-\d\d$"),  # OpenAI: "gpt-4o-2024-08-06"
    re.compile(r"-20\d{6}$"),  # Anthropic: "claude-3-5-sonnet-20240620"
    # OpenAI/Azure MMDD snapshots: "gpt-4-0613", "gpt-3.5-turbo-0125", Azure "gpt-4o-0806".
    re.compile(r"-(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$"),
    re.compile(r"-00\d$"),  # Vertex AI Gemini revisions: "gemini-1.5-pro-002"
)
# Anthropic renamed "claude-3-5-sonnet" to "claude-sonnet-4-5" order with Claude 4; Bedrock
# usage types say "Claude3.5Sonnet" and "Claude4.6Sonnet". The key puts the family first.
CLAUDE_FAMILIES = ("sonnet", "opus", "haiku", "instant")
# Azure names GPT-3.5 "gpt-35-turbo" (learn.microsoft.com/azure/ai-services/openai/concepts/
# models); OpenAI says "gpt-3.5-turbo".
ALIASES = {"gpt-35": "gpt-3-5"}

_PARENTHESES = re.compile(r"\([^)]*\)")
_TOKENS = re.compile(r"[a-z]+|\d+")


def model_key(name: str) -> str:
    """The key that matches one model however a bill or a gateway spells it.

    Lower-case; only the last path segment ("bedrock/", "vertex_ai/", "azure/", "openai/",
    ARNs, "publishers/google/models/"); no region or vendor prefix ("us.", "anthropic."); no
    version or date suffix ("-v1:0", "-20240620", "-2024-08-06", "@20240620", "-0806",
    "-002", "-latest"); no parenthesised note ("(Amazon Bedrock Edition)"); then the words and
    numbers joined by "-", so separators, case and "3.5" / "3-5" / "35" spellings agree. A key is
    for matching, not for display; show the billed `hosted_model` instead.

    >>> model_key("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0")
    'claude-sonnet-3-5'
    >>> model_key("Claude3.5Sonnet")
    'claude-sonnet-3-5'
    >>> model_key("gpt-4o-2024-08-06") == model_key("azure/gpt-4o") == "gpt-4-o"
    True
    >>> model_key("Gemini 1.5 Pro") == model_key("vertex_ai/gemini-1.5-pro-002")
    True
    """
    text = _PARENTHESES.sub(" ", name.strip().lower()).strip()
    text = text.rsplit("/", 1)[-1].strip()
    stripped = True
    while stripped:
        stripped = False
        for prefix in (*REGION_PREFIXES, *VENDOR_PREFIXES):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                stripped = True
    stripped = True
    while stripped:
        stripped = False
        for suffix in VERSION_SUFFIXES:
            shorter = suffix.sub("", text)
            if shorter != text and shorter:
                text, stripped = shorter, True
    tokens = _TOKENS.findall(text)
    if tokens and tokens[0] == "claude":
        family = next((t for t in tokens[1:] if t in CLAUDE_FAMILIES), None)
        if family:
            rest = [t for t in tokens[1:] if t != family]
            tokens = ["claude", family, *rest]
    key = "-".join(tokens)
    for alias, canonical in ALIASES.items():
        if key == alias or key.startswith(alias + "-"):
            key = canonical + key[len(alias) :]
    return key


# --- recognition -----------------------------------------------------------------------------

INPUT, OUTPUT, CACHE_READ, CACHE_WRITE = "input", "output", "cache_read", "cache_write"
BEDROCK, VERTEX, AZURE_OPENAI, OPENAI, ANTHROPIC = (
    "bedrock",
    "vertex",
    "azure_openai",
    "openai",
    "anthropic",
)


@dataclass(frozen=True, slots=True)
class HostedLine:
    provider: str  # BEDROCK, VERTEX, ...
    model: str  # the provider's model id as the bill names it
    direction: str  # INPUT, OUTPUT, CACHE_READ, CACHE_WRITE or "" (unknown)
    tokens: int | None  # the tokens the line bills; None when its unit is not tokens


def mark(row, found: HostedLine | None):
    """`row` (a CostLineRow) with the hosted columns of `found` set; unchanged for None."""
    if found is not None:
        row.hosted_provider = found.provider
        row.hosted_model = found.model[:200]
        row.token_direction = found.direction
        row.token_count = found.tokens
    return row


# Pricing units that count tokens, and how many tokens one unit is. Bedrock's price list says
# "1K tokens" (its CUR UsageAmount is in that unit); Marketplace-billed Bedrock models count
# "Units" of one token ("...InputTokenCount-Units"); Azure's UnitOfMeasure is a block size,
# "1K" / "1M" (finops-toolkit PricingUnits.csv: PricingBlockSize 1000 / 1000000); FOCUS exports
# say "Tokens", "1K Tokens", "1M Tokens"; GCP's usage.unit says "count" for token SKUs.
_UNIT = re.compile(
    r"^(?P<size>\d+(?:\.\d+)?)?\s*(?P<scale>k|m|thousand|million)?\s*(?P<what>tokens?|units?|count)?$"
)
_SCALE = {None: 1, "k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}


def token_factor(unit: str) -> int | None:
    """Tokens per unit of `unit`, or None when the unit is no token count (hours, characters,
    requests, or nothing said)."""
    text = unit.strip().lower().replace(",", "")
    match = _UNIT.match(text)
    if not text or not match or not (match["size"] or match["scale"] or match["what"]):
        return None
    size = Decimal(match["size"] or 1) * _SCALE[match["scale"]]
    return int(size) if size == size.to_integral_value() and size > 0 else None


def tokens_of(quantity: Decimal | None, unit: str) -> int | None:
    """The quantity in tokens, to the nearest token (a count of thousands may have more
    decimals than a token holds); None when either is unknown."""
    factor = token_factor(unit)
    if quantity is None or factor is None:
        return None
    try:
        return int((quantity * factor).to_integral_value())
    except (ArithmeticError, ValueError):  # NaN or infinity: the row checks refuse it
        return None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# Amazon Bedrock. Usage types "<REGION>-<Model>-<direction>" per "Understanding your Amazon
# Bedrock Cost and Usage Report data" (docs.aws.amazon.com/bedrock/latest/userguide/
# cost-mgmt-understanding-cur-data.html): *-input-tokens, *-output-tokens (or
# *-mantle-input-tokens-*), *-cache-read-input-token-count, *-cache-write-input-token-count;
# e.g. USE1-Claude4.6Sonnet-input-tokens (AWS ML blog, "granular cost attribution for Amazon
# Bedrock", 2026) and USE1-Claude2.0-input-tokens with product attribute model "Claude 2.0"
# (AWS Price List, aws/aws-cli#9567). Marketplace-billed models (Anthropic "... (Amazon
# Bedrock Edition)") use USE1-MP:USE1_InputTokenCount-Units, ..._OutputTokenCount-Units,
# CacheReadInputTokenCount, CacheWriteInputTokenCount. Matched squashed (lower case, no
# separators), cache before plain input.
BEDROCK_DIRECTIONS = (
    ("cachereadinputtoken", CACHE_READ),
    ("cachewriteinputtoken", CACHE_WRITE),
    ("inputtoken", INPUT),
    ("outputtoken", OUTPUT),
)
BEDROCK_EDITION = re.compile(r"\s*\(amazon bedrock edition\)\s*", re.IGNORECASE)
# A foundation model or system inference profile named in a resource ARN; an application
# inference profile's id names no model.
BEDROCK_ARN_MODEL = re.compile(r"(?:^|:)(?:foundation-model|inference-profile)/(?P<model>[^/]+)$")
# "USE1-", "EUC1-", "APN1-": the region code AWS prefixes usage types with.
AWS_REGION_CODE = re.compile(r"^[A-Z]{2,4}\d?-")
BEDROCK_USAGE_MODEL = re.compile(
    r"^(?P<model>.+?)-(?:(?:mantle|batch|flex|priority|standard|global|geo)-)*"
    r"(?:input|output|cache)",
    re.IGNORECASE,
)


def bedrock(
    *,
    product_code: str,
    usage_type: str,
    product_name: str = "",
    model: str = "",
    resource_id: str = "",
    quantity: Decimal | None = None,
    unit: str = "",
) -> HostedLine | None:
    """A Bedrock token line of a CUR (legacy, Athena, 2.0) or of AWS's FOCUS export."""
    marketplace = bool(BEDROCK_EDITION.search(product_name))
    if product_code != "AmazonBedrock" and not marketplace:
        return None
    squashed = _squash(usage_type)
    direction = next((d for key, d in BEDROCK_DIRECTIONS if key in squashed), None)
    if direction is None:
        return None  # provisioned throughput, guardrails, knowledge bases: not tokens
    arn = BEDROCK_ARN_MODEL.search(resource_id)
    name = (arn["model"] if arn else "") or model
    if not name and marketplace:
        name = BEDROCK_EDITION.sub("", product_name).strip()
    if not name and ":" not in usage_type:
        found = BEDROCK_USAGE_MODEL.match(AWS_REGION_CODE.sub("", usage_type))
        name = found["model"] if found else ""
    if not name:
        return None
    if unit.strip().lower() in ("", "units", "unit") and marketplace:
        unit = "tokens"  # "...TokenCount-Units": one unit per token
    return HostedLine(BEDROCK, name, direction, tokens_of(quantity, unit))


# Google Vertex AI (and the Gemini API on the same billing account). SKU descriptions such as
# "Gemini 1.5 Pro Text Input - Predictions", "Gemini 1.5 Flash Text Output - Predictions",
# "Online Prediction - Gemini 2.5 Pro" (cloud.google.com/skus, service "Vertex AI"; the
# brainagents.ai GCP FinOps guide's billing-export examples), and partner models sold through
# Vertex AI ("Claude 3.5 Sonnet Input Tokens"). The model is the family name and the version
# and size words after it.
VERTEX_SERVICES = ("vertex ai", "gemini api", "generative language")
VERTEX_MODEL = re.compile(
    r"\b(?:gemini|claude|llama|mistral|gemma|codestral|jamba|palm)"
    r"(?:[\s-]+(?:\d+(?:\.\d+)*|pro|flash|lite|ultra|nano|sonnet|opus|haiku|instruct|large"
    r"|nemo|small|medium|exp|experimental|preview|\d+b))*",
    re.IGNORECASE,
)
VERTEX_DIRECTIONS = (
    (re.compile(r"\bcache\w*\s+(?:write|creation|writes)\b"), CACHE_WRITE),
    (re.compile(r"\b(?:cached|cache)\b"), CACHE_READ),
    (re.compile(r"\binput\b"), INPUT),
    (re.compile(r"\boutput\b"), OUTPUT),
)


def vertex(
    *, service: str, sku: str, quantity: Decimal | None = None, unit: str = ""
) -> HostedLine | None:
    """A Vertex AI token line of the GCP billing export or of Google's FOCUS export."""
    text = sku.lower()
    vertex_service = any(name in service.lower() for name in VERTEX_SERVICES)
    if not vertex_service and not VERTEX_MODEL.search(service):
        return None  # a partner model's own service ("Claude 3.5 Sonnet") names the model
    named = VERTEX_MODEL.search(sku) or VERTEX_MODEL.search(service)
    if not named:
        return None
    if "storage" in text:
        return None  # context cache storage is billed per hour, not per token
    direction = next((d for pattern, d in VERTEX_DIRECTIONS if pattern.search(text)), None)
    if direction is None:
        return None
    return HostedLine(VERTEX, named.group(0).strip(), direction, tokens_of(quantity, unit))


# Azure OpenAI meters, as in the Azure retail prices API and Cost Management exports:
# "gpt-4o-0806-Inp-glbl Tokens", "gpt-4o-mini-0718-Outp-glbl Tokens", "gpt 4o 0513 Input global
# Tokens", "gpt 4o 1120 cached Inp glbl", "gpt-35-turbo-4k-Input-regional", "GPT 5 Inpt Glbl",
# "gpt-4-8K-Batch-Inp-glbl Tokens" (meter names seen in public price-list tests and cost
# exports); the meter's category/subcategory/product says "Azure OpenAI", "Cognitive Services"
# or "Foundry Models". The model is the words before the first direction or deployment word.
AZURE_CONTEXT = ("openai", "cognitive services", "foundry models", "azure ai services")
AZURE_INPUT = {"inp", "input", "inpt", "in"}
AZURE_OUTPUT = {"outp", "output", "out", "outpt"}
AZURE_CACHE = {"cached", "cache", "cchd"}
AZURE_STOP = {
    *AZURE_INPUT,
    *AZURE_OUTPUT,
    *AZURE_CACHE,
    "batch",
    "aud",
    "txt",
    "glbl",
    "global",
    "gl",
    "regional",
    "regnl",
    "rgnl",
    "dzone",
    "datazone",
    "tokens",
    "1k",
    "1m",
}
_CONTEXT_SIZE = re.compile(r"(?<=[a-z])\d+k$|^\d+k$")


def azure_openai(
    *, meter: str, context: str, quantity: Decimal | None = None, unit: str = ""
) -> HostedLine | None:
    """An Azure OpenAI token line of an Azure export or of Microsoft's FOCUS export; `context`
    is the meter category, subcategory, product and service names, joined."""
    lowered = context.lower()
    if not any(word in lowered for word in AZURE_CONTEXT):
        return None
    words = [w for w in re.split(r"[\s_-]+", meter.strip().lower()) if w]
    if "token" not in meter.lower() and not (token_factor(unit) or "tok" in unit.lower()):
        return None
    direction = None
    for word in words:
        if word in AZURE_CACHE:
            direction = CACHE_READ
        elif word in AZURE_INPUT:
            direction = direction or INPUT
            break
        elif word in AZURE_OUTPUT:
            direction = OUTPUT
            break
    if direction is None:
        return None
    model = []
    for word in words:
        if word in AZURE_STOP:
            break
        word = _CONTEXT_SIZE.sub("", word)
        if word:
            model.append(word)
    if not model:
        return None
    return HostedLine(AZURE_OPENAI, "-".join(model), direction, tokens_of(quantity, unit))


# Words in a FOCUS line's service or description that may make it a hosted-model line; any
# other line skips the rules above (most of a bill is compute, storage and network).
_HOSTED_HINTS = ("bedrock", "vertex", "gemini", "openai", "cognitive", "foundry", "claude")


def focus_line(row, text: Callable[[str], str]) -> HostedLine | None:
    """A FOCUS line (AWS, Google or Microsoft export) that bills a hosted model's tokens.

    `text(column)` reads a cell ("" when absent). The provider's own columns carry the usage
    type or meter where FOCUS has none: AWS's FOCUS export x_ServiceCode / x_UsageType,
    Microsoft's x_SkuMeterName / x_SkuMeterCategory / x_SkuMeterSubcategory (finops-toolkit
    FocusCost_1.0.json), FOCUS 1.1+ SkuMeter; tokens from ConsumedQuantity / ConsumedUnit, else
    PricingQuantity / PricingUnit.
    """
    service = row.service_name
    seen = f"{service} {row.charge_description} {row.provider}".lower()
    if not any(hint in seen for hint in _HOSTED_HINTS) and not any(
        hint in text("x_SkuMeterSubcategory").lower() for hint in _HOSTED_HINTS
    ):
        return None
    quantity, unit = row.consumed_quantity, row.consumed_unit
    if token_factor(unit) is None:
        quantity, unit = _decimal_or_none(text("PricingQuantity")), row.pricing_unit
    provider = row.provider.lower()
    meter = text("x_SkuMeterName") or text("SkuMeter")
    if "microsoft" in provider or "azure" in provider:
        context = " ".join(
            (service, text("x_SkuMeterCategory"), text("x_SkuMeterSubcategory"), row.provider)
        )
        return azure_openai(
            meter=meter or row.charge_description, context=context, quantity=quantity, unit=unit
        )
    if "google" in provider:
        sku = meter or row.charge_description
        return vertex(service=service, sku=sku, quantity=quantity, unit=unit)
    if "amazon" in provider or "aws" in provider:
        code = text("x_ServiceCode") or ("AmazonBedrock" if service == "Amazon Bedrock" else "")
        return bedrock(
            product_code=code,
            usage_type=text("x_UsageType") or meter or row.charge_description,
            product_name=service,
            resource_id=row.resource_id,
            quantity=quantity,
            unit=unit,
        )
    return None


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    return value if value.is_finite() else None
