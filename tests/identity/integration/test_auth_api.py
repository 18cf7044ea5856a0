import pytest

from contexts.identity.models import User
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db


def register(client, **body):
    payload = {"email": "ann@example.com", "password": PASSWORD, **body}
    return client.post("/api/v1/auth/register", payload, format="json")


def test_customer_registers_and_gets_a_profile_without_password(api_client):
    response = register(api_client, first_name="Ann", last_name="Lee")
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
    }


def test_duplicate_email_in_another_letter_case_is_refused(api_client):
    assert register(api_client).status_code == 201
    response = register(api_client, email="ANN@Example.COM")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["errors"]
    assert User.objects.count() == 1


def test_weak_password_is_refused_and_nothing_is_saved(api_client):
    response = register(api_client, password="123")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["errors"]
    assert not User.objects.exists()


def test_unknown_fields_are_refused(api_client):
    response = register(api_client, is_staff=True)
    assert response.status_code == 400
    assert response.json()["errors"] == {"is_staff": ["Unknown field."]}
    assert not User.objects.exists()


def test_login_with_email_in_any_case_returns_a_token_pair(api_client, customer):
    response = api_client.post(
        "/api/v1/auth/token", {"email": customer.email.upper(), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_wrong_password_answers_invalid_credentials(api_client, customer):
    response = api_client.post("/api/v1/auth/token", {"email": customer.email, "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_login_is_throttled_after_repeated_attempts(api_client, customer, settings):
    codes = [
        api_client.post("/api/v1/auth/token", {"email": customer.email, "password": "x"}, format="json").status_code
        for _ in range(12)
    ]
    assert codes[-1] == 429
    last = api_client.post("/api/v1/auth/token", {"email": customer.email, "password": "x"}, format="json")
    assert last.json()["code"] == "throttled"
    assert "Retry-After" in last


def test_refresh_gives_a_new_access_token_and_refuses_forged_ones(api_client, customer):
    pair = api_client.post("/api/v1/auth/token", {"email": customer.email, "password": PASSWORD}, format="json").json()
    ok = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert ok.status_code == 200 and "access" in ok.json()
    forged = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"][:-3] + "abc"}, format="json")
    assert forged.status_code == 401
    assert forged.json()["code"] == "token_not_valid"


def test_me_shows_and_updates_the_profile(customer_client):
    assert customer_client.get("/api/v1/me").json()["email"] == customer_client.customer.email
    response = customer_client.patch("/api/v1/me", {"first_name": "Zoë"}, format="json")
    assert response.status_code == 200
    assert response.json()["first_name"] == "Zoë"


def test_me_refuses_changing_the_email_or_id(customer_client):
    response = customer_client.patch("/api/v1/me", {"email": "evil@example.com"}, format="json")
    assert response.status_code == 400
    customer_client.customer.refresh_from_db()
    assert customer_client.customer.email != "evil@example.com"


def test_me_needs_a_valid_token(api_client):
    assert api_client.get("/api/v1/me").json()["code"] == "not_authenticated"
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_expired_access_token_is_refused(api_client, customer):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(customer)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_event_published_while_serving_a_request_carries_its_request_id(api_client):
    from commerce.database import database_for
    from commerce.eventbus.models import OutboxMessage

    response = api_client.post(
        "/api/v1/auth/register",
        {"email": "traced@example.com", "password": PASSWORD},
        format="json",
        HTTP_X_REQUEST_ID="req-register-1",
    )
    assert response.status_code == 201
    message = OutboxMessage.objects.using(database_for("identity")).get(event_type="identity.CustomerRegistered")
    assert message.correlation_id == "req-register-1"
    assert message.causation_id == "req-register-1"
    assert message.payload["customer_id"] == response.json()["id"]
