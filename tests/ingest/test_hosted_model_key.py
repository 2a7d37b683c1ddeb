"""model_key: a billed hosted-model id and the names gateways log meet on one key."""

from __future__ import annotations

import pytest

from costapp.ingest.hosted import model_key

# Each group: spellings of one model, from bills (usage types, SKUs, meters, product names)
# and from request logs (LiteLLM, OTel, OpenAI/Anthropic responses).
SAME_MODEL = [
    (
        "claude-sonnet-3-5",
        [
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
            "claude-3-5-sonnet-20240620",
            "claude-3-5-sonnet-latest",
            "claude-3-5-sonnet@20240620",
            "vertex_ai/claude-3-5-sonnet@20240620",
            "Claude3.5Sonnet",
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            "CLAUDE-3.5-SONNET",
        ],
    ),
    ("claude-sonnet-4-6", ["Claude4.6Sonnet", "claude-sonnet-4-6", "anthropic/claude-sonnet-4-6"]),
    ("claude-haiku-3", ["Claude3Haiku", "anthropic.claude-3-haiku-20240307-v1:0:200k"]),
    (
        "gpt-4-o",
        ["gpt-4o", "gpt-4o-2024-08-06", "azure/gpt-4o", "openai/gpt-4o", "gpt-4o-0806", "GPT 4o"],
    ),
    ("gpt-4-o-mini", ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o-mini-0718"]),
    ("gpt-3-5-turbo", ["gpt-3.5-turbo-0125", "gpt-35-turbo", "azure/gpt-35-turbo-0613"]),
    (
        "gemini-1-5-pro",
        [
            "Gemini 1.5 Pro",
            "gemini-1.5-pro-002",
            "vertex_ai/gemini-1.5-pro",
            "publishers/google/models/gemini-1.5-pro-001",
            "gemini-1.5-pro@001",
        ],
    ),
    ("llama-3-1-70-b-instruct", ["meta.llama3-1-70b-instruct-v1:0", "llama-3.1-70b-instruct"]),
    ("nova-pro", ["amazon.nova-pro-v1:0", "bedrock/amazon.nova-pro-v1:0"]),
]


@pytest.mark.parametrize(("key", "names"), SAME_MODEL, ids=[key for key, _ in SAME_MODEL])
def test_spellings_of_one_model_share_its_key(key, names):
    assert {name: model_key(name) for name in names} == {name: key for name in names}


def test_different_models_keep_different_keys():
    names = [
        "claude-3-5-sonnet-20240620",
        "claude-3-sonnet-20240229",
        "claude-3-haiku-20240307",
        "claude-3-5-haiku-20241022",
        "claude-opus-4-1",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4",
        "gpt-4.1",
        "o1-mini",
        "gemini-1.5-pro",
        "gemini-1.5-flash",
        "llama-3.1-8b-instruct",
        "llama-3.1-70b-instruct",
    ]
    keys = [model_key(name) for name in names]
    assert len(set(keys)) == len(names), dict(zip(names, keys, strict=True))


def test_a_snapshot_that_is_not_a_date_stays():
    # "-0125-preview" is not at the end, and 4-digit numbers that are no MMDD are kept.
    assert model_key("gpt-4-0125-preview") == "gpt-4-0125-preview"
    assert model_key("model-2048") == "model-2048"


def test_nothing_in_nothing_out():
    assert model_key("") == ""
    assert model_key("   ") == ""
