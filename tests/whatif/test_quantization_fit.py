"""Quantization fit: model sizes from names, GPUs needed per precision, and the API answer."""

from __future__ import annotations

from decimal import Decimal as D
from urllib.parse import urlencode

import pytest

from costapp.whatif.fit import fits, gpus_for, params_from_name
from tests.dashboard.builders import finance_user, page

from .builders import PARAMS, worked_example
from .test_api import _api


@pytest.mark.parametrize(("name", "billions"), [
    ("llama-70b", D(70)), ("Llama-3.1-8B-Instruct", D(8)), ("mixtral-8x7b", D(56)),
    ("qwen2.5-0.5b", D("0.5")), ("smollm-360m", D("0.36")), ("gpt-4o", None),
    ("llama-70b-fp8", D(70)),
])  # fmt: skip
def test_the_size_is_read_from_the_name_when_it_says_it(name, billions):
    assert params_from_name(name) == billions


def test_a_70b_model_needs_three_h100s_at_fp16_and_two_at_fp8():
    # 140 GB of FP16 weights over 80 x 0.7 = 56 GB usable: 2.5 -> 3; FP8 70 GB -> 2; INT4 35 -> 1.
    assert gpus_for(D(70), D(80), D(1)) == 3
    assert gpus_for(D(70), D(80), D("0.5")) == 2
    assert gpus_for(D(70), D(80), D("0.25")) == 1


def test_headroom_changes_the_count_and_unknown_gpu_types_are_left_out():
    assert gpus_for(D(70), D(80), D("0.5"), headroom=D("0.1")) == 1  # 70 GB in 72 usable
    (fit,) = fits(D(8), ("L4", "Z9000"))
    assert fit.gpu_type == "L4" and fit.memory_gb == 24
    assert fit.gpus == {"fp16": 1, "fp8": 1, "int8": 1, "int4": 1}  # 16 GB in 16.8 usable


@pytest.mark.django_db
def test_the_api_answer_holds_the_fit_on_the_scopes_gpu_types():
    worked_example()
    query = {**PARAMS, "model": "llama-70b", "quantization": "fp8"}
    body = _api(finance_user()).get("/api/v1/whatif", query).json()
    fit = body["quantization_fit"]
    assert fit["params_b"] == "70" and fit["params_source"].startswith("model name")
    assert fit["gpus"] == [{"gpu_type": "H100", "memory_gb": "80", "memory_source": fit["gpus"][0]
                            ["memory_source"], "per_precision": {"fp16": 3, "fp8": 2, "int8": 2,
                                                                "int4": 1}}]  # fmt: skip


@pytest.mark.django_db
def test_a_given_size_and_headroom_override_the_name():
    worked_example()
    query = {**PARAMS, "model": "llama-70b", "model_params_b": "13", "kv_headroom": "0.5"}
    body = _api(finance_user()).get("/api/v1/whatif", query).json()
    fit = body["quantization_fit"]
    assert fit["params_b"] == "13" and fit["params_source"] == "given"
    assert fit["gpus"][0]["per_precision"]["fp16"] == 1  # 26 GB in 40 usable


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), [
    ({"model_params_b": "-3"}, "model_params_b"), ({"kv_headroom": "1"}, "kv_headroom"),
])  # fmt: skip
def test_a_bad_size_or_headroom_answers_400_naming_it(query, field):
    response = _api(finance_user()).get("/api/v1/whatif", query)
    assert response.status_code == 400 and response.json()["field"] == field


@pytest.mark.django_db
def test_the_page_shows_the_fit_and_the_break_even(client):
    worked_example()
    query = urlencode({**PARAMS, "model": "llama-70b", "quantization": "fp8"})
    html = page(client, finance_user(), f"/whatif/?{query}")
    assert 'id="quantization-fit"' in html and "70B parameters" in html
    assert 'id="break-even"' in html and "Break-even tokens a day" in html
