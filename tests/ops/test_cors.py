"""CORS for browser storefronts on other origins (issue 14 point 2)."""

import json

import pytest
from django.test import Client

from tests.support.processes import run_python

STOREFRONT = "https://shop.example.com"


@pytest.fixture
def storefront_allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [STOREFRONT]
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []


def preflight(
    origin: str,
    path: str = "/api/v1/checkout",
    headers: str = "authorization, content-type, idempotency-key, x-request-id",
):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_a_preflight_from_an_allowed_origin_may_send_the_idempotency_and_request_id_headers(storefront_allowed):
    response = preflight(STOREFRONT)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies


@pytest.mark.django_db
def test_a_response_to_an_allowed_origin_exposes_the_request_id(storefront_allowed):
    response = Client().get("/api/v1/categories", HTTP_ORIGIN=STOREFRONT, HTTP_X_REQUEST_ID="trace-me-123")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == STOREFRONT
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]
    assert response["X-Request-ID"] == "trace-me-123"


@pytest.mark.django_db
def test_an_origin_not_allowed_gets_no_cors_grant(storefront_allowed):
    response = preflight("https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response

    response = Client().get("/api/v1/categories", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response


def test_only_the_api_answers_cross_origin(storefront_allowed):
    response = preflight(STOREFRONT, path="/admin/login/")

    assert "Access-Control-Allow-Origin" not in response


def cors_settings(**env: str) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps({'origins': settings.CORS_ALLOWED_ORIGINS, 'regexes': settings.CORS_ALLOWED_ORIGIN_REGEXES}))"
    )
    return json.loads(run_python(code, timeout=60, **env).stdout)


def test_production_allows_no_origin_unless_configured():
    from django.conf import settings

    production = {
        "COMMERCE_PROFILE": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "shop.example.com",
        "JWT_PRIVATE_KEY_FILE": str(settings.JWT_DEVELOPMENT_KEY_FILE),
    }

    assert cors_settings(**production) == {"origins": [], "regexes": []}
    assert cors_settings(**production, CORS_ALLOWED_ORIGINS=f"{STOREFRONT}, https://m.example.com") == {
        "origins": [STOREFRONT, "https://m.example.com"],
        "regexes": [],
    }


def test_development_allows_local_storefronts_only():
    regexes = cors_settings(COMMERCE_PROFILE="development")["regexes"]

    import re

    assert any(re.match(pattern, "http://localhost:3000") for pattern in regexes)
    assert not any(re.match(pattern, "https://evil.example.net") for pattern in regexes)
    assert not any(re.match(pattern, "http://localhost.evil.example.net") for pattern in regexes)
