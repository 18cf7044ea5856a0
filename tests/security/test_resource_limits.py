"""OWASP API4:2023 Unrestricted Resource Consumption: bodies, pages and field sizes are bounded."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.test.client import ClientHandler
from rest_framework.test import APIClient

from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


def register_body(**extra) -> dict:
    return {"email": "limits@example.com", "password": PASSWORD, **extra}


def test_a_3_mb_json_body_is_refused_with_413_and_changes_nothing():
    body = json.dumps(register_body(first_name="x" * (3 * MB)))
    response = APIClient().post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not get_user_model().objects.filter(email="limits@example.com").exists()


def wsgi_call(environ_extra: dict, body: bytes) -> tuple[str, dict, bytes]:
    """Hand the shop a raw WSGI environ, as a server would (the test client always sets a length)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/auth/register",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
        **environ_extra,
    }
    response = ClientHandler()(environ)
    return str(response.status_code), dict(response.items()), response.content


def test_a_chunked_body_without_a_length_is_refused_cleanly_and_never_read_whole():
    """A server hands a chunked body over without CONTENT_LENGTH: Django reads none of it, so a body
    of any size cannot fill memory; the request is refused as invalid, in the contract's shape."""
    body = json.dumps(register_body(first_name="x" * (3 * MB))).encode()
    status, headers, content = wsgi_call({"HTTP_TRANSFER_ENCODING": "chunked"}, body)
    assert status.startswith(("400", "411", "413"))
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(content)["code"] in {"invalid", "bad_request", "request_too_large", "length_required"}
    assert not get_user_model().objects.filter(email="limits@example.com").exists()


def test_a_body_longer_than_its_declared_length_is_read_only_up_to_it():
    body = json.dumps(register_body()).encode()
    status, _, content = wsgi_call({"CONTENT_LENGTH": "10"}, body + b" " * MB)
    assert status.startswith("400")
    assert json.loads(content)["code"] == "bad_request"
    assert not get_user_model().objects.filter(email="limits@example.com").exists()


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    status, _, content = wsgi_call({"CONTENT_LENGTH": str(3 * MB)}, b"{}")
    assert status.startswith("413")
    assert json.loads(content)["code"] == "request_too_large"


def test_page_size_is_clamped_to_100():
    from tests.identity.factories import CustomerFactory

    customer = CustomerFactory()
    client = APIClient()
    client.force_authenticate(customer)
    for n in range(3):
        client.post(
            "/api/v1/me/addresses",
            {"full_name": f"A {n}", "line1": "1 Road", "city": "Town", "country": "DE"},
            format="json",
        )
    response = client.get("/api/v1/me/addresses", {"page_size": 10**8})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
    huge = client.get("/api/v1/me/addresses", {"page_size": "9" * 50})
    assert huge.status_code == 400 and huge.json()["code"] == "invalid"


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_huge_string_is_refused_not_stored(field):
    response = APIClient().post("/api/v1/auth/register", register_body(**{field: "y" * 100_000}), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not get_user_model().objects.filter(email="limits@example.com").exists()


def test_a_huge_number_of_json_keys_is_refused():
    body = json.dumps(register_body(**{f"k{n}": n for n in range(50_000)}))
    response = APIClient().post("/api/v1/auth/register", data=body, content_type="application/json")
    assert response.status_code in {400, 413}
    assert not get_user_model().objects.filter(email="limits@example.com").exists()


def test_login_is_throttled_with_retry_after():
    client = APIClient()
    answers = [
        client.post("/api/v1/auth/token", {"email": "x@example.com", "password": "wrong"}, format="json")
        for _ in range(15)
    ]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, "ten wrong logins a minute, then 429"
    assert throttled[0].json()["code"] == "throttled"
    assert int(throttled[0]["Retry-After"]) > 0
