"""API.md's conventions hold for every endpoint: JSON errors with a code, optional slashes, ids."""

import json
import logging

import pytest
from rest_framework.test import APIClient

from commerce.logging import CorrelationFilter, JsonFormatter
from contexts.identity.models import User
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_url_answers_json_not_found(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/test/crash", "/api/v1/test/crash-drf"])
def test_an_unexpected_error_answers_json_500_without_a_trace(client, settings, path):
    settings.ROOT_URLCONF = "tests.http.urls"
    response = client.get(path)
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "server_error"
    assert "Traceback" not in json.dumps(body) and "ZeroDivisionError" not in json.dumps(body)


def test_a_wrong_method_answers_json_405(client):
    response = client.get("/api/v1/auth/register")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_malformed_json_is_a_400_in_the_contract_shape(client):
    response = client.post("/api/v1/auth/register", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert not User.objects.exists()


def test_a_wrong_content_type_is_a_415(client):
    response = client.post(
        "/api/v1/auth/register", data="email=a@b.c", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_oversized_body_is_refused_and_changes_nothing(client, settings):
    body = json.dumps({"email": "big@example.com", "password": PASSWORD, "first_name": "x" * (2 * 1024 * 1024)})
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not User.objects.exists()


def test_a_json_body_that_is_not_an_object_is_a_400(client):
    response = client.post("/api/v1/auth/register", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/register/"])
def test_trailing_slash_is_optional_even_on_post(client, path):
    response = client.post(path, {"email": "slash@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201


def test_an_incoming_request_id_is_echoed(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("incoming", [None, "", "bad id with spaces", "x" * 500])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = client.get("/health/live", **headers)
    assert response["X-Request-ID"] and response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


def test_every_log_line_of_a_request_carries_its_request_id(client, settings, caplog):
    settings.ROOT_URLCONF = "tests.http.urls"
    caplog.handler.addFilter(CorrelationFilter())
    with caplog.at_level(logging.INFO):
        client.get("/api/v1/test/log", HTTP_X_REQUEST_ID="req-42")
    (record,) = [r for r in caplog.records if r.name == "tests.http"]
    assert record.request_id == "req-42"
    assert json.loads(JsonFormatter().format(record))["request_id"] == "req-42"


def test_the_openapi_schema_and_swagger_ui_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert "/api/v1/auth/register" in document["paths"]
    components = document["components"]["schemas"]
    assert "id" not in components["RegisterInputRequest"]["properties"]
    assert client.get("/api/docs/").status_code == 200


def test_liveness_and_readiness_answer_when_the_database_does(client):
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert all(ready.json()["checks"].values())


def test_readiness_fails_when_the_configured_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
    assert response.json()["code"] == "service_unavailable"


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_a_deeply_nested_json_body_is_a_400_not_a_500(client, body):
    response = client.post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.parametrize(
    "query",
    ["page=abc", "page=0", "page=-1", "page=1.5", "page=%EF%BC%91", "page_size=0", "page_size=-5", "page_size=x"],
)
def test_a_page_or_page_size_that_is_not_a_positive_number_is_a_400(query):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from commerce.errors import api_exception_handler
    from commerce.pagination import StandardPagination

    request = Request(APIRequestFactory().get(f"/x?{query}"))
    with pytest.raises(Exception) as refused:
        StandardPagination().paginate_queryset(list(range(50)), request)
    response = api_exception_handler(refused.value, {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"


def test_a_page_past_the_end_is_a_404():
    from rest_framework.exceptions import NotFound
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from commerce.pagination import StandardPagination

    with pytest.raises(NotFound):
        StandardPagination().paginate_queryset(list(range(50)), Request(APIRequestFactory().get("/x?page=9")))


def test_page_size_is_clamped_not_refused():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from commerce.pagination import StandardPagination

    items = list(range(500))
    paginator = StandardPagination()
    page = paginator.paginate_queryset(items, Request(APIRequestFactory().get("/x", {"page_size": 1000})))
    assert len(page) == 100
    default = StandardPagination().paginate_queryset(items, Request(APIRequestFactory().get("/x")))
    assert len(default) == 24


def test_djangos_own_response_log_line_carries_the_request_id(client, caplog):
    caplog.handler.addFilter(CorrelationFilter())
    with caplog.at_level(logging.WARNING):
        client.get("/api/v1/no-such-thing", HTTP_X_REQUEST_ID="req-404")
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.request_id == "req-404"


def test_a_clamped_page_size_is_what_the_next_and_previous_links_carry():
    from urllib.parse import parse_qs, urlparse

    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from commerce.pagination import StandardPagination

    items = list(range(500))
    paginator = StandardPagination()
    request = Request(APIRequestFactory().get("/x", {"page_size": 1000, "page": 2, "q": "shirt"}))
    page = paginator.paginate_queryset(items, request)
    assert page[0] == 100
    next_query = parse_qs(urlparse(paginator.get_next_link()).query)
    previous_query = parse_qs(urlparse(paginator.get_previous_link()).query)
    assert next_query == {"page_size": ["100"], "page": ["3"], "q": ["shirt"]}
    assert previous_query == {"page_size": ["100"], "q": ["shirt"]}
    assert paginator.get_paginated_response(page).data["count"] == 500


def test_following_next_with_a_clamped_page_size_walks_every_item_once(client, settings):
    from urllib.parse import parse_qs, urlparse

    settings.ROOT_URLCONF = "tests.http.urls"
    seen: list[int] = []
    url = "/api/v1/test/numbers?page_size=1000"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 100
        seen += body["results"]
        url = body["next"]
        assert url is None or parse_qs(urlparse(url).query)["page_size"] == ["100"], url
    assert seen == list(range(250))


def test_a_refresh_token_used_as_an_access_token_answers_the_contract_shape_only(client):
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.identity.factories import CustomerFactory

    refresh = RefreshToken.for_user(CustomerFactory())
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {refresh}")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] == "token_not_valid"
    assert "Bearer" in response["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/health/live", "/health/live/", "/health/ready", "/health/ready/"])
def test_health_answers_json_with_or_without_a_trailing_slash(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1"])
def test_the_api_root_is_a_json_index_of_its_entry_points(client, path):
    response = client.get(path)
    assert response.status_code == 200
    index = response.json()
    assert index["version"] == "v1"
    endpoints = index["endpoints"]
    assert endpoints["products"] == "http://testserver/api/v1/products"
    assert endpoints["products/{slug}"] == "http://testserver/api/v1/products/{slug}"
    assert endpoints["auth/token"] == "http://testserver/api/v1/auth/token"
    assert endpoints["me"] == "http://testserver/api/v1/me"
    assert index["schema"] == "http://testserver/api/schema"
    assert index["docs"] == "http://testserver/api/docs"
    for name, url in endpoints.items():
        if "{" not in name and name not in {"me", "me/export"} and not name.startswith("me/"):
            answer = client.options(url)
            assert answer.status_code != 404, f"{name} is listed but does not exist"
