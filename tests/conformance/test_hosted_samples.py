"""Hosted-model recognition against public samples in ../shared/fixtures.

- LiteLLM's price table (litellm/model_prices_and_context_window_backup.json) names the same
  Claude model as Bedrock bills it ("bedrock/us.anthropic.claude-...-v1:0") and as Anthropic's
  API does ("claude-..."): model_key must join every such pair, and keep distinct models apart.
- The real billing samples (FOCUS 1.0, koku's CUR and GCP exports) hold no hosted-model line:
  recognition must mark none of their rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from costapp.ingest import cur, focus, gcp
from costapp.ingest.files import InputFile
from costapp.ingest.hosted import model_key
from tests.conftest import SHARED_FIXTURES

pytestmark = pytest.mark.conformance

PRICES = SHARED_FIXTURES / "litellm" / "model_prices_and_context_window_backup.json"


def _table() -> dict:
    if not PRICES.exists():
        pytest.skip(f"{PRICES} is absent (the shared fixtures are not checked out)")
    return json.loads(PRICES.read_text())


def _anthropic_name(bedrock_key: str) -> str:
    """The Anthropic API's name of a Bedrock Claude id, by Bedrock's documented id shape
    ([path/][geo.]anthropic.<name>-vN:M), written out here apart from model_key."""
    last = bedrock_key.rsplit("/", 1)[-1]
    last = re.sub(r"^(?:us|eu|apac|jp|au|global|us-gov)\.", "", last)
    return re.sub(r"-v\d+:\d+$", "", last.removeprefix("anthropic."))


def test_bedrock_and_anthropic_names_of_one_claude_model_share_a_key():
    table = _table()
    anthropic = {
        k
        for k, v in table.items()
        if isinstance(v, dict) and v.get("litellm_provider") == "anthropic"
    }
    pairs = [
        (key, _anthropic_name(key))
        for key, value in table.items()
        if isinstance(value, dict)
        and value.get("litellm_provider") == "bedrock"
        and "anthropic.claude" in key
        and _anthropic_name(key) in anthropic
    ]
    assert len(pairs) >= 3, "the price table no longer names Claude both ways"
    wrong = {b: (model_key(b), model_key(a)) for b, a in pairs if model_key(b) != model_key(a)}
    assert not wrong


def test_azure_and_openai_names_of_one_gpt_model_share_a_key():
    table = _table()
    pairs = [
        (key, key.removeprefix("azure/"))
        for key in table
        if key.startswith("azure/gpt-") and key.count("/") == 1 and key[6:] in table
    ]
    assert len(pairs) >= 3
    assert not [(a, o) for a, o in pairs if model_key(a) != model_key(o)]


def test_distinct_claude_models_of_the_table_keep_distinct_keys():
    table = _table()
    names = sorted(
        k
        for k, v in table.items()
        if isinstance(v, dict)
        and v.get("litellm_provider") == "anthropic"
        and not re.search(r"-(latest|\d{8})$", k)
    )
    keys = {model_key(n) for n in names}
    assert len(keys) == len(names), names


@pytest.mark.parametrize(
    ("module", "relative"),
    [
        (focus, "focus-sample-data/focus_1.0_sample_1000.csv"),
        (cur, "koku/aws_cur_legacy_test_cur.csv"),
        (cur, "koku/aws_cur_legacy_2023-06_costcategory.csv"),
        (gcp, "koku/gcp_billing_export_202011.csv"),
    ],
)
def test_real_bills_without_hosted_models_get_no_hosted_line(module, relative):
    path = SHARED_FIXTURES / relative
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared fixtures are not checked out)")
    rows = list(module.parse(InputFile.from_path(Path(path))))
    assert rows
    assert [r.source_row for r in rows if r.hosted_provider or r.token_count is not None] == []
