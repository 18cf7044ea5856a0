"""Every answer names the deployable that gave it (``X-Served-By``), so an operator sees where the gateway
sent a request: successes, errors, CORS preflights, the admin, health and metrics alike."""

import pytest
from django.test import override_settings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/api/v1/products", {}, 200),
        ("get", "/api/v1/me", {}, 401),
        ("get", "/api/v1/me/notifications", {"HTTP_AUTHORIZATION": "Bearer forged"}, 401),
        ("get", "/api/v1/no-such-thing", {}, 404),
        ("post", "/api/v1/auth/token", {}, 415),
        (
            "options",
            "/api/v1/products",
            {"HTTP_ORIGIN": "http://localhost:3000", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"},
            200,
        ),
        ("get", "/admin/login/", {}, 200),
        ("get", "/health/live", {}, 200),
        ("get", "/health/ready", {}, 200),
        ("get", "/metrics", {}, 200),
    ],
)
def test_every_answer_of_the_monolith_says_monolith(client, method, path, headers, status):
    response = getattr(client, method)(path, **headers)
    assert response.status_code == status
    assert response["X-Served-By"] == "monolith"


@pytest.mark.django_db
def test_the_name_is_the_deployable_s_setting(client):
    from django.conf import settings

    with override_settings(SERVED_BY="notifications", MIDDLEWARE=list(settings.MIDDLEWARE)):
        assert client.get("/health/live")["X-Served-By"] == "notifications"
