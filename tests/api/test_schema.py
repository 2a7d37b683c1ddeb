"""The OpenAPI 3 schema at /api/schema/: valid, listing every API path with its auth, and the
docs page at /api/docs/ served from our own static files under the strict CSP."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client
from drf_spectacular.validation import validate_schema
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/usage": {"post"},
    "/api/v1/explain": {"get"},
    "/api/v1/channels": {"get", "post"},
    "/api/v1/budgets": {"get", "post"},
    "/api/v1/budgets/{id}": {"get"},
    "/api/v1/alerts": {"get"},
    "/api/v1/alerts/{id}": {"get"},
    "/api/v1/whatif": {"get"},
    "/api/v1/recommendations": {"get"},
    "/api/v1/costs": {"get"},
    "/api/v1/units": {"get"},
    "/api/v1/idle": {"get"},
    "/api/v1/allocations": {"get"},
    "/api/v1/teams": {"get"},
    "/api/v1/models": {"get"},
    "/api/v1/endpoints": {"get"},
    "/api/v1/pools": {"get"},
}


@pytest.fixture
def schema() -> dict:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # drf-spectacular's own validator (raises on a violation)
    validate(schema)  # and the independent openapi-spec-validator


def test_the_schema_lists_every_api_path_and_method(schema):
    found = {
        path: {method for method in item if method in {"get", "post", "put", "patch", "delete"}}
        for path, item in schema["paths"].items()
    }
    assert found == PATHS


def test_the_schema_can_be_had_as_json():
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200 and response.json()["paths"]


def test_bearer_tokens_are_the_documented_auth_and_usage_takes_a_push_token(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["pushToken"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/usage"]["post"]["security"] == [{"pushToken": []}]
    assert {"bearerAuth": []} in schema["paths"]["/api/v1/budgets"]["get"]["security"]


def test_bad_input_is_documented_as_400_with_the_field(schema):
    explain = schema["paths"]["/api/v1/explain"]["get"]
    assert {p["name"] for p in explain["parameters"] if p.get("required")} == {"team", "hour"}
    error = explain["responses"]["400"]["content"]["application/json"]["schema"]
    assert set(error["properties"]) == {"error", "field"}
    assert "400" in schema["paths"]["/api/v1/budgets"]["post"]["responses"]


def test_the_docs_page_loads_swagger_ui_from_our_static_files_and_no_inline_script():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in src for src in sources)
    assert all(src.startswith("/") and not src.startswith("//") for src in sources)
    # Every <script> has a src: the init script is served as a file, allowed by script-src 'self'.
    assert len(re.findall(r"<script", html)) == len(sources)
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    )
    assert policy["script-src"] == "'self'"
    init = Client().get(next(src for src in sources if "script=" in src))
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
